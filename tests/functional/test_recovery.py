"""Issue 13, class 7 in process: a run killed at any point and recovered the documented way (run
the same batch again: docs/operations.md "After a failure") ends with exactly the KPIs, curated
rows and pending set of an uninterrupted run, and the first validation report is kept."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecompipe.aws import parquet
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.manifests import read_manifest
from ecompipe.batch.pipeline import run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from tests.conftest import NOW
from tests.functional.test_idempotency import BASE
from tests.support.helpers import curated_rows, kpi_state, one_shot_kpis, put_files, record_manifest
from validator import task as validate_task

pytestmark = pytest.mark.functional

# O5's order is not in the batch: its item is held in pending/ (the case that used to double)
FILES = {name: data.encode() for name, data in BASE.items() if name != "orders_3.csv"}
KILL_POINTS = [
    "after validation",
    "the curated write",
    "the product catalogue write",
    "the KPI write",
    "the pending commit",
    "the archive",
]


class Killed(BaseException):
    """What a kill looks like to the code that runs: nothing after it happens."""


def _killer(point: str):
    def fence(step: str) -> None:
        if step == point:
            raise Killed(step)

    return fence


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_anywhere_recovers_to_the_uninterrupted_result(resources: Resources, point: str) -> None:
    manifest = record_manifest(resources.bucket, put_files(resources, FILES))
    with pytest.raises(Killed):
        if point == "after validation":
            validate_task.run(resources.settings, resources.bucket, manifest.batch_id, NOW)
            raise Killed(point)
        run_manifest(resources, manifest, NOW, _killer(point))
    first_report = resources.bucket.get_json(layout.report_key(manifest.batch_id))

    run_manifest(resources, read_manifest(resources.bucket, manifest.batch_id), NOW)  # the recovery
    run_manifest(resources, read_manifest(resources.bucket, manifest.batch_id), NOW)  # and once more

    assert kpi_state(resources) == one_shot_kpis(FILES)
    pending = parquet.get_frame(resources.bucket, layout.PENDING_ITEMS_KEY)
    assert pending["item_key"].tolist() == ["O5/P1"]
    items = CuratedStore(resources.bucket).read_rows("order_items", ["2025-06-01"])
    assert items is not None and items["item_key"].is_unique
    curated_rows(resources)  # the cells hold what their manifests say
    report = resources.bucket.get_json(layout.report_key(manifest.batch_id))
    assert {k: v for k, v in report.items() if k != "attempts"} == first_report
    assert [a["key"] for a in report["attempts"]] == [
        layout.report_attempt_key(manifest.batch_id, 2),
        layout.report_attempt_key(manifest.batch_id, 3),
    ]
    assert report["totals"]["files"] == len(FILES) and report["totals"]["pending"] == 1
    assert not resources.bucket.list(layout.INCOMING)


RECATEGORISED = {  # a later batch that only moves P1 to another category
    "products_2.csv": b"product_id,category,price\nP1,Music,10.00\n",
}
CATALOGUE = {
    "products_1.csv": b"product_id,category,price\nP1,Books,10.00\nP2,Toys,5.00\n",
    "orders_1.csv": b"order_id,user_id,order_date,status,total_amount\n"
    b"O1,U1,2025-06-01,delivered,10.00\nO2,U2,2025-06-02,delivered,5.00\n",
    "order_items_1.csv": b"order_id,product_id,quantity,unit_price\nO1,P1,1,10.00\nO2,P2,1,5.00\n",
}
MOVED = {  # a later batch that moves O1 to another day
    "orders_2.csv": b"order_id,user_id,order_date,status,total_amount\nO1,U1,2025-06-03,delivered,10.00\n",
}
HISTORY_FILES = {  # re-sent orders move days, a later catalogue recategorises, items come early
    **CATALOGUE,
    **MOVED,
    **RECATEGORISED,
    "order_items_2.csv": b"order_id,product_id,quantity,unit_price\nO2,P1,2,10.00\nO3,P2,1,5.00\n",
    "orders_3.csv": b"order_id,user_id,order_date,status,total_amount\nO3,U3,2025-06-02,returned,5.00\n"
    b"O2,U2,2025-06-04,delivered,25.00\n",
}
FIRST = sorted(CATALOGUE)
FENCES = [None, "the curated write", "the product catalogue write", "the KPI write", "the pending commit"]


def _history_state(batches: list[list[str]], kills: list[str | None]) -> tuple:
    """KPIs and pending item keys after these batches of HISTORY_FILES, each run killed at its
    fence point (None: not killed) and then recovered by running it again, in a fresh moto."""
    from moto import mock_aws

    from ecompipe.core.settings import Settings
    from tests.conftest import MOTO_CONFIG

    with mock_aws(config=MOTO_CONFIG):
        res = Resources.from_settings(Settings(bucket="ecompipe-killed"))
        res.init()
        for names, kill in zip(batches, kills, strict=True):
            manifest = record_manifest(res.bucket, put_files(res, {n: HISTORY_FILES[n] for n in names}))
            if kill is not None:
                with pytest.raises(Killed):
                    run_manifest(res, manifest, NOW, _killer(kill))
            run_manifest(res, read_manifest(res.bucket, manifest.batch_id), NOW)
        pending = parquet.get_frame_or_none(res.bucket, layout.PENDING_ITEMS_KEY)
        return kpi_state(res), [] if pending is None else sorted(pending["item_key"])


def test_a_run_killed_between_its_writes_still_recomputes_the_dates_of_recategorised_products(aws_env: None) -> None:
    """The product catalogue is written last: a run killed before it is recovered by a rerun that
    still sees which products the batch recategorised, so their dates' category KPIs move too."""
    expected = _history_state([FIRST, ["products_2.csv"]], [None, None])
    assert {(c["category"], c["order_date"]) for c in expected[0][1]} == {
        ("Music", "2025-06-01"),
        ("Toys", "2025-06-02"),
    }
    assert _history_state([FIRST, ["products_2.csv"]], [None, "the product catalogue write"]) == expected


@pytest.mark.parametrize("point", ["the product catalogue write", "the KPI write", "the pending commit"])
def test_a_run_killed_after_moving_an_order_recovers_the_day_it_left(aws_env: None, point: str) -> None:
    expected = _history_state([FIRST, ["orders_2.csv"]], [None, None])
    assert [o["order_date"] for o in expected[0][0]] == ["2025-06-02", "2025-06-03"]
    assert _history_state([FIRST, ["orders_2.csv"]], [None, point]) == expected


@st.composite
def _killed_histories(draw):
    names = sorted(HISTORY_FILES)
    batches = draw(
        st.lists(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True), min_size=2, max_size=4)
    )
    kills = draw(st.lists(st.sampled_from(FENCES), min_size=len(batches), max_size=len(batches)))
    return batches, kills


@settings(max_examples=2, deadline=None)
@given(_killed_histories())
@example(([FIRST, ["orders_2.csv"]], [None, "the KPI write"]))  # the order counted twice
@example(([FIRST, ["products_2.csv"]], [None, "the product catalogue write"]))  # the stale category
def test_any_history_with_runs_killed_anywhere_ends_as_the_same_history_uninterrupted(aws_env: None, history) -> None:
    """The class of the two defects above, as a property: whatever the batches (orders moving days,
    products changing category, items before their orders) and wherever each run is killed and
    recovered, the KPIs and the pending set equal the same batches run without a kill."""
    batches, kills = history
    assert _history_state(batches, kills) == _history_state(batches, [None] * len(batches))
