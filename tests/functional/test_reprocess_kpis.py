"""`ecompipe reprocess --from/--to` (ecompipe.batch.reprocess): the KPIs of a date range rescored
from the curated rows, the cells' partials and customers with them, so a manifest whose partials
went wrong is repaired and the next batch on those dates merges right ones."""

from __future__ import annotations

import pytest

from ecompipe.aws.curated import CuratedStore
from ecompipe.batch import reprocess
from ecompipe.core import layout
from tests.functional.test_recovery import HISTORY_FILES
from tests.support.helpers import curated_rows, kpi_state, one_shot_kpis, run_files

pytestmark = pytest.mark.functional

FIRST = {n: HISTORY_FILES[n] for n in ("products_1.csv", "orders_1.csv", "order_items_1.csv")}
LATER = {n: HISTORY_FILES[n] for n in ("orders_3.csv", "order_items_2.csv")}


def _damage(res, date: str) -> None:
    """A manifest whose partials and customer count are wrong (a rule fixed since, a bad write)."""
    key = layout.cells_manifest_key(date)
    doc = res.bucket.get_json(key)
    for parts in doc["cells"].values():
        for part in parts:
            part["partial"]["order"]["total_revenue_cents"] += 12345
            part["partial"]["order"]["total_orders"] += 7
    doc["unique_customers"] = 99
    res.bucket.put_json(key, doc)


def test_a_damaged_manifest_is_repaired_and_the_next_batch_merges_right_partials(resources) -> None:
    run_files(resources, FIRST)
    expected = kpi_state(resources)
    date = CuratedStore(resources.bucket).dates()[0]
    _damage(resources, date)
    plan = reprocess.plan_kpis(resources, "2025-01-01", "2025-12-31")
    assert plan.to_write == 0 and plan.dates  # the KPI tables were right: the plan finds nothing to change
    reprocess.apply_kpis(resources, plan)
    assert kpi_state(resources) == expected
    curated_rows(resources)  # every part's partials and the customers checked against the rows
    run_files(resources, LATER)  # a batch on the repaired date merges its partials
    assert kpi_state(resources) == one_shot_kpis(FIRST, LATER)
