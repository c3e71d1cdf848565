"""A store written before cells (one Parquet object per kind and order date, a key cache) is
re-laid in cells by the first commit against it, or by `ecompipe migrate`: the same rows, the same
KPIs, and batches after it behave as on a store that was always in cells."""

from __future__ import annotations

import pytest

from ecompipe.aws import parquet
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.batch import migrate
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from tests.conftest import ROOT, SAMPLE
from tests.support.helpers import curated_rows, kpi_state, one_shot_kpis, read_dir, run_files

pytestmark = pytest.mark.functional

THELOOK = read_dir(ROOT / "sample_data" / "thelook")
SEED = read_dir(SAMPLE)


def _as_before_cells(res: Resources) -> None:
    """Turn a store in cells into the layout it had before them: one object per kind and date
    (items with their order_date, as that writer wrote them) and a key cache; no cells, no index."""
    store = CuratedStore(res.bucket)
    for date in store.dates():
        for kind in (ORDERS, ORDER_ITEMS):
            rows = store.read_rows(kind, [date])
            assert rows is not None
            parquet.put_frame(res.bucket, layout.legacy_partition_key(kind, date), rows)
    parquet.put_frame(
        res.bucket, layout.LEGACY_KEY_INDEX + "orders-keys.parquet", store.read_keys(ORDERS, store.dates())
    )
    for prefix in (layout.CELLS, layout.CUSTOMERS, layout.KEY_INDEX_RUNS):
        res.bucket.delete_prefix(prefix)
    for o in res.bucket.list(layout.CURATED):
        if "/bucket=" in o.key:
            res.bucket.delete(o.key)
    res.bucket.delete(migrate.LAYOUT_MARKER)
    assert store.dates() == [] and len(store.legacy_dates()) > 6


def test_a_store_before_cells_is_re_laid_with_the_same_rows_and_kpis(resources) -> None:
    run_files(resources, THELOOK)
    rows, kpis = curated_rows(resources), kpi_state(resources)
    _as_before_cells(resources)
    done = migrate.migrate(resources)
    assert done["dates"] > 20 and done["kpis_changed"] == 0
    assert curated_rows(resources) == rows and kpi_state(resources) == kpis
    assert not resources.bucket.list(layout.LEGACY_KEY_INDEX)
    assert CuratedStore(resources.bucket).legacy_dates() == []
    assert migrate.migrate(resources)["dates"] == 0  # idempotent


def test_the_first_batch_after_the_upgrade_re_lays_the_store_and_goes_on(resources) -> None:
    first = {n: data for n, data in SEED.items() if not n.endswith(("4.csv", "5.csv"))}
    later = {n: data for n, data in SEED.items() if n not in first}
    run_files(resources, first)
    _as_before_cells(resources)
    run_files(resources, later)  # its commit migrates, then transforms onto the cells
    assert kpi_state(resources) == one_shot_kpis(first, later)  # the same history, always in cells
    curated_rows(resources)
    assert resources.bucket.exists(migrate.LAYOUT_MARKER)


@pytest.mark.parametrize("where", ["between dates", "before an old partition goes"])
def test_a_migration_killed_half_way_ends_as_one_run(resources, monkeypatch, where: str) -> None:
    run_files(resources, SEED)
    rows, kpis = curated_rows(resources), kpi_state(resources)
    _as_before_cells(resources)
    monkeypatch.setattr(migrate, "CHUNK_BYTES", 1)  # one date at a time

    class Killed(Exception):
        pass

    def die(date: str, n: int, total: int) -> None:
        if where == "between dates" and n == 7:
            raise Killed(date)

    deletes = resources.bucket.delete_keys
    seventh = layout.legacy_partition_key(ORDERS, CuratedStore(resources.bucket).legacy_dates()[6])

    def dies_on_the_seventh(keys: list[str]) -> None:
        if where != "between dates" and seventh in keys:
            raise Killed(keys[0])
        deletes(keys)

    monkeypatch.setattr(resources.bucket, "delete_keys", dies_on_the_seventh)
    with pytest.raises(Killed):
        migrate.migrate(resources, progress=die)
    monkeypatch.setattr(resources.bucket, "delete_keys", deletes)
    assert not resources.bucket.exists(migrate.LAYOUT_MARKER)  # written last: the rest is done next time
    assert migrate.if_needed(resources) is not None
    assert curated_rows(resources) == rows and kpi_state(resources) == kpis
