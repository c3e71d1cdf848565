"""Issue 38: a fanned-out batch whose work is mostly one date splits that date into pieces of its
cells (transformer.pieces), one transform-group task each, merged by the transform that finishes;
it ends exactly as the one-task transform, whichever children finish, wherever a run is killed,
and when two pieces rewrite one part (the group is then rebuilt whole)."""

from __future__ import annotations

import contextlib
import random
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecompipe.aws import parquet
from ecompipe.aws.manifests import read_manifest
from ecompipe.batch.pipeline import archive_as_reported, run_manifest
from ecompipe.core import cells, layout
from tests.conftest import NOW
from tests.functional.test_recovery import FENCES, Killed, _killer
from tests.functional.test_transform_groups import _attempt
from tests.support.helpers import curated_rows, kpi_state, put_files, record_manifest
from transformer import fanout, groups, pieces
from transformer import task as transform_task
from validator import task as validate_task

pytestmark = pytest.mark.functional

DAY, NEXT = "2025-06-10", "2025-06-11"
ORDERS = "order_id,user_id,order_date,status,total_amount\n"
ITEMS = "order_id,product_id,quantity,unit_price\n"


def _orders(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    return (ORDERS + "".join(",".join(r) + "\n" for r in rows)).encode()


def _items(rows: list[tuple[str, str, int, str]]) -> bytes:
    return (ITEMS + "".join(f"{o},{p},{q},{u}\n" for o, p, q, u in rows)).encode()


def _status(i: int) -> str:
    return ("delivered", "returned", "shipped", "canceled")[i % 4]


FILES = {  # one heavy day: stored, then re-sent orders (one moving a day), new orders, a late order
    "products_1.csv": b"product_id,category,price\nP1,Books,10.00\nP2,Toys,5.00\nP3,Games,7.50\n",
    "orders_1.csv": _orders([(f"H{i:02}", f"U{i % 6}", DAY, _status(i), "0") for i in range(24)]),
    "order_items_1.csv": _items([(f"H{i:02}", f"P{1 + i % 3}", 1 + i % 2, "10.00") for i in range(24)]),
    "orders_2.csv": _orders(
        [("H03", "U3", DAY, "returned", "0"), ("H05", "U5", NEXT, "delivered", "0"), ("H07", "U9", DAY, "shipped", "0")]
        + [(f"N{i:02}", f"U{i % 7}", DAY, _status(i + 1), "0") for i in range(16)]
    ),
    "order_items_2.csv": _items(
        [(f"N{i:02}", f"P{1 + i % 3}", 1 + i % 3, "2.25") for i in range(16)]
        + [("H09", "P3", 4, "7.50"), ("N20", "P1", 2, "10.00")]  # N20's order comes in a later batch
    ),
    "products_2.csv": b"product_id,category,price\nP2,Music,5.00\n",
    "orders_3.csv": _orders([("N20", "U1", DAY, "delivered", "0"), ("H11", "U2", DAY, "returned", "0")]),
}
BATCHES = [
    ["products_1.csv", "orders_1.csv", "order_items_1.csv"],
    ["orders_2.csv", "order_items_2.csv", "products_2.csv"],
    ["orders_3.csv"],
]


def _state(plan: list[tuple[int, int, str | None]] | None, split: int) -> tuple[tuple, dict[str, int]]:
    """(KPIs, pending keys and curated rows after BATCHES, how the split groups ended: merged or
    rebuilt whole), each batch run by one task (plan None) or fanned out as plan says (bins, seed,
    kill point), in a fresh moto with cells of `split` items."""
    from moto import mock_aws

    from ecompipe.batch.resources import Resources
    from ecompipe.core.settings import Settings
    from tests.conftest import MOTO_CONFIG

    ends = {"merged": 0, "whole": 0}
    merge = pieces.merge

    def counted(*args, **kwargs):
        written = merge(*args, **kwargs)
        ends["merged" if written is not None else "whole"] += 1
        return written

    with (
        mock_aws(config=MOTO_CONFIG),
        mock.patch.object(cells, "SPLIT_ITEMS", split),
        mock.patch.object(cells, "MIN_PART_ROWS", min(split, cells.MIN_PART_ROWS)),
        mock.patch.object(pieces, "merge", counted),
    ):
        res = Resources.from_settings(Settings(bucket="ecompipe-pieces"))
        res.init()
        for i, names in enumerate(BATCHES):
            keys = put_files(res, {n: FILES[n] for n in names})
            manifest = record_manifest(res.bucket, keys)
            if plan is None:
                run_manifest(res, manifest, NOW)
                continue
            bins, seed, kill = plan[i]
            rng = random.Random(seed)
            if kill is not None and seed % 2:  # the run fails; the next execution is a new run
                with contextlib.suppress(Killed):
                    _attempt(res, manifest.batch_id, f"{manifest.batch_id}-killed", bins, rng, _killer(kill))
            elif kill is not None:  # the Transform task is retried within the run
                _retried(res, manifest.batch_id, f"{manifest.batch_id}-retried", bins, rng, _killer(kill))
                continue
            _attempt(res, manifest.batch_id, f"{manifest.batch_id}-last", bins, rng, lambda _step: None)
            report = res.bucket.get_json(layout.report_key(manifest.batch_id))
            archive_as_reported(res.bucket, read_manifest(res.bucket, manifest.batch_id), report)
        pending = parquet.get_frame_or_none(res.bucket, layout.PENDING_ITEMS_KEY)
        state = kpi_state(res), [] if pending is None else sorted(pending["item_key"]), curated_rows(res)
        return state, ends


def _retried(res, batch_id: str, run_id: str, bins: int, rng: random.Random, kill) -> None:
    """A fanned-out run whose children and first Transform are killed at one fence, the Transform
    then retried by the state machine within the run (same run id, same plan)."""
    validate_task.run(res.settings, res.bucket, batch_id, NOW)
    planned = fanout.plan_groups(res.bucket, batch_id, run_id, bins)
    for group in range(planned["groups"]):
        if rng.random() < 0.5:
            with contextlib.suppress(Killed):
                fanout.transform_group(res.bucket, res.kpis, batch_id, run_id, group, kill)
    with contextlib.suppress(Killed):
        transform_task.run(res.bucket, res.kpis, batch_id, kill, run_id)
    transform_task.run(res.bucket, res.kpis, batch_id, lambda _step: None, run_id)
    report = res.bucket.get_json(layout.report_key(batch_id))
    archive_as_reported(res.bucket, read_manifest(res.bucket, batch_id), report)


@pytest.fixture(scope="module")
def serial() -> tuple:
    return _state(None, cells.SPLIT_ITEMS)[0]


@settings(max_examples=1, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([2, 4]), st.integers(0, 99), st.sampled_from([*FENCES, "the piece's delta"])),
        min_size=3,
        max_size=3,
    )
)
@example([(4, 3, "the KPI write"), (2, 5, "the piece's delta"), (4, 7, "the KPI write")])
@example([(4, 2, "the KPI write"), (2, 4, "the piece's delta"), (4, 6, "the curated write")])
def test_pieces_of_a_heavy_date_end_as_the_one_task_transform(aws_env: None, serial: tuple, plan) -> None:
    """In cells of 2 items, so the pieces' parts are finer than the pieces and merge. A run killed
    at the piece's delta leaves parts no manifest names: the rerun deletes them (no stray object)."""
    state, ends = _state(plan, split=2)
    assert state == serial
    assert ends["merged"] >= 2


def test_two_pieces_rewriting_one_part_rebuild_their_group_whole(aws_env: None, serial: tuple) -> None:
    """The first batch is one part spanning the day; the second re-sends orders of both pieces."""
    state, ends = _state([(1, 0, None), (2, 1, None), (2, 2, "the KPI write")], split=cells.SPLIT_ITEMS)
    assert state == serial
    assert ends["whole"] >= 1


def test_a_date_weighing_two_bins_or_more_is_split_and_the_rest_packed() -> None:
    weight = {"a": 80, "b": 10, "c": 6, "d": 4}
    binned, shares = groups.shares_of([["a"], ["b", "c"], ["d"]], weight, 4)
    assert binned == [["a"], ["a"], ["b", "c"], ["d"]] and shares == [(0, 2), (1, 2), (0, 1), (0, 1)]
    assert groups.shares_of([["a"]], {"a": 5}, 8) == ([["a"]] * 8, [(r, 8) for r in range(8)])
    assert groups.shares_of([["a"], ["b"]], {"a": 5, "b": 5}, 2) == ([["a"], ["b"]], [(0, 1), (0, 1)])
    assert groups.shares_of([["a"]], {"a": 5}, 1) == ([["a"]], [(0, 1)])
