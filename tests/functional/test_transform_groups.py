"""Issue 19: a fanned-out batch's transform split into groups of dates (plan-transform, one
transform-group task per group, then transform finishing whatever no child did) ends exactly as
the one-task transform, whatever the batches (orders moving days, items re-sent under another
order, products changing category, items before their orders), however many groups, in whatever
order the children run, whichever of them never finish, and wherever a run is killed and recovered."""

from __future__ import annotations

import contextlib
import random

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecompipe.aws import parquet
from ecompipe.aws.curated import CuratedIndex
from ecompipe.aws.manifests import read_manifest
from ecompipe.batch.pipeline import archive_as_reported, run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import cells, layout
from tests.conftest import NOW
from tests.functional.test_recovery import FENCES, HISTORY_FILES, Killed, _killer
from tests.support.helpers import curated_rows, kpi_state, put_files, record_manifest
from transformer import curate, fanout
from transformer import task as transform_task
from validator import task as validate_task

pytestmark = pytest.mark.functional


def _fanned(res: Resources, names: list[str], bins: int, seed: int, kill: str | None) -> None:
    """One batch of HISTORY_FILES the way the state machine fans it out: validate, plan, the groups
    in a random order with some never finishing (their child failed), transform, archive. With
    `kill`, the first attempt is killed at that fence point and the batch recovered by a rerun."""
    manifest = record_manifest(res.bucket, put_files(res, {n: HISTORY_FILES[n] for n in names}))
    rng = random.Random(seed)
    if kill is not None:
        with contextlib.suppress(Killed):
            _attempt(res, manifest.batch_id, f"{manifest.batch_id}-killed", bins, rng, _killer(kill))
    _attempt(res, manifest.batch_id, f"{manifest.batch_id}-last", bins, rng, lambda _step: None)
    report = res.bucket.get_json(layout.report_key(manifest.batch_id))
    archive_as_reported(res.bucket, read_manifest(res.bucket, manifest.batch_id), report)


def _attempt(res: Resources, batch_id: str, run_id: str, bins: int, rng: random.Random, fence) -> None:
    report = validate_task.run(res.settings, res.bucket, batch_id, NOW)
    if not report["outcome"]["has_work"]:
        return
    planned = fanout.plan_groups(res.bucket, batch_id, run_id, bins)
    order = list(range(planned["groups"]))
    rng.shuffle(order)
    for group in order[: rng.randint(0, len(order))]:  # the rest never finish: transform does them
        fanout.transform_group(res.bucket, res.kpis, batch_id, run_id, group, fence)
    transform_task.run(res.bucket, res.kpis, batch_id, fence, run_id)


def _state(
    batches: list[list[str]], plan: list[tuple[int, int, str | None]] | None, split: int = cells.SPLIT_ITEMS
) -> tuple:
    """KPIs, pending item keys and curated rows after these batches, each run by one task (plan
    None) or fanned out as plan says (bins, seed, kill point), in a fresh moto. `split`: how many
    items a cell holds before its date doubles its buckets, and the rows that make a part worth
    splitting over them (ecompipe.core.cells.SPLIT_ITEMS, MIN_PART_ROWS)."""
    from unittest import mock

    from moto import mock_aws

    from ecompipe.core.settings import Settings
    from tests.conftest import MOTO_CONFIG

    with (
        mock_aws(config=MOTO_CONFIG),
        mock.patch.object(cells, "SPLIT_ITEMS", split),
        mock.patch.object(cells, "MIN_PART_ROWS", min(split, cells.MIN_PART_ROWS)),
    ):
        res = Resources.from_settings(Settings(bucket="ecompipe-groups"))
        res.init()
        for i, names in enumerate(batches):
            if plan is None:
                keys = put_files(res, {n: HISTORY_FILES[n] for n in names})
                run_manifest(res, record_manifest(res.bucket, keys), NOW)
            else:
                _fanned(res, names, *plan[i])
        pending = parquet.get_frame_or_none(res.bucket, layout.PENDING_ITEMS_KEY)
        return kpi_state(res), [] if pending is None else sorted(pending["item_key"]), curated_rows(res)


@st.composite
def _fanned_histories(draw):
    names = sorted(HISTORY_FILES)
    batches = draw(
        st.lists(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True), min_size=2, max_size=3)
    )
    plan = [(draw(st.integers(1, 4)), draw(st.integers(0, 99)), draw(st.sampled_from(FENCES))) for _ in batches]
    return batches, plan


@settings(max_examples=2, deadline=None)
@given(_fanned_histories())
@example(([sorted(HISTORY_FILES)[:3], ["orders_2.csv", "orders_3.csv"]], [(1, 0, None), (4, 1, None)]))
@example(
    (
        [["orders_1.csv", "order_items_1.csv", "products_1.csv"], ["orders_2.csv"]],
        [(1, 0, None), (3, 2, "the KPI write")],
    )
)
def test_a_transform_in_groups_ends_as_the_one_task_transform(aws_env: None, history) -> None:
    """(The fanned-out history in cells of 2 items, so dates split into many buckets and parts of
    several bucket counts while orders move between them; the one-task history in one cell a date.)"""
    batches, plan = history
    assert _state(batches, plan, split=2) == _state(batches, None)


def test_dates_linked_by_a_move_share_a_group_and_packing_keeps_groups_whole() -> None:
    index = CuratedIndex(
        pd.DataFrame({"order_id": ["O1", "O2", "O4"], "order_date": ["2025-06-01", "2025-06-02", "2025-06-05"]}),
        pd.DataFrame(
            {
                "item_key": ["O1/P1", "O2/P2", "O4/P2"],
                "product_id": ["P1", "P2", "P2"],
                "order_date": ["2025-06-01", "2025-06-02", "2025-06-05"],
            }
        ),
    )
    orders = pd.DataFrame({"order_id": ["O1", "O9"], "order_date": ["2025-06-03", "2025-06-07"]})
    items = pd.DataFrame({"item_key": ["O2/P2", "O9/P1"], "order_id": ["O9", "O9"]})  # O2/P2 re-sent under O9
    groups = curate.date_components(orders, items, index, pd.Index([]))
    assert groups == [["2025-06-01", "2025-06-03"], ["2025-06-02", "2025-06-07"]]
    # a group an earlier attempt recorded stays whole, whatever the store shows now
    linked = curate.date_components(orders, items, index, pd.Index([]), [["2025-06-03", "2025-06-05"]])
    assert linked == [["2025-06-01", "2025-06-03", "2025-06-05"], ["2025-06-02", "2025-06-07"]]
    weight = {"2025-06-01": 5, "2025-06-03": 1, "2025-06-02": 2, "2025-06-07": 2, "2025-06-09": 1}
    packed = curate.pack([*groups, ["2025-06-09"]], weight, 2)
    assert packed == [["2025-06-01", "2025-06-03"], ["2025-06-02", "2025-06-07", "2025-06-09"]]
    assert curate.pack(groups, weight, 9) == groups and curate.pack([], weight, 3) == []


def test_a_fanned_out_transform_takes_one_group_per_fan_out_size_at_most_one_per_file() -> None:
    from ecompipe.aws.manifests import Manifest
    from ecompipe.aws.objects import ObjectInfo
    from ecompipe.batch.tasks import transform_bins
    from ecompipe.core.settings import Settings

    def manifest(*mib: int) -> Manifest:
        return Manifest.for_files(
            [ObjectInfo(f"incoming/orders_{i}.csv", m * 2**20, f"e{i}") for i, m in enumerate(mib)]
        )

    settings = Settings(fan_out_min_mb=64, fan_out_concurrency=40)
    assert transform_bins(settings, manifest(40, 40, 40, 40, 40, 40, 40, 40, 40, 40)) == 7  # 400 MiB
    assert transform_bins(settings, manifest(1000, 1000)) == 2  # never more than one per file
    assert transform_bins(Settings(fan_out_min_mb=64, fan_out_concurrency=3), manifest(*[64] * 10)) == 3
    assert transform_bins(Settings(fan_out_min_mb=0, fan_out_concurrency=40), manifest(1, 1, 1)) == 3
    assert transform_bins(settings, manifest(1, 1)) == 1


def test_a_batch_fans_out_only_when_its_tasks_may_run_side_by_side() -> None:
    """Several files, at least ECOMPIPE_FAN_OUT_MIN_MB of them, and a Map that runs more than one
    task at a time: with ECOMPIPE_FAN_OUT_CONCURRENCY 1 (`ecompipe run` with one worker) the
    batch takes one validate task and one transform task."""
    from ecompipe.aws.manifests import Manifest
    from ecompipe.aws.objects import ObjectInfo
    from ecompipe.core.settings import Settings
    from trigger.decision import fans_out

    files = Manifest.for_files([ObjectInfo(f"incoming/orders_{i}.csv", 40 * 2**20, f"e{i}") for i in range(3)])
    one = Manifest.for_files([ObjectInfo("incoming/orders_0.csv", 400 * 2**20, "e0")])
    assert fans_out(Settings(fan_out_min_mb=64, fan_out_concurrency=2), files)
    assert not fans_out(Settings(fan_out_min_mb=64, fan_out_concurrency=1), files)
    assert not fans_out(Settings(fan_out_min_mb=200, fan_out_concurrency=40), files)  # 120 MiB
    assert not fans_out(Settings(fan_out_min_mb=0, fan_out_concurrency=40), one)
