"""The vectorised validator (numpy line bounds, pyarrow reading, Arrow-compute parsing of money,
counts and dates) against its reference path (`validate_batch(exact=True)`: the csv module and
every cell parsed one by one in Python, the way the rules are written down): on the lab data, the
sample data, every case of the bad-input corpus and generated data holding every kind of bad row
the generator makes, both give the same staged rows, rejected rows, pending set and report, and so
the same KPIs. Pure: no emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from ecompipe.local.generate import Spec, generate
from tests.support.corpus import BASE, CASES
from transformer.kpis import category_kpis, order_kpis
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*.csv"))}


def _inputs() -> dict[str, dict[str, bytes]]:
    sets = {"sample_seed": _files_of(ROOT / "sample_data" / "seed"), "lab": _files_of(ROOT / "sample_data" / "thelook")}
    for dialect in ("seed", "thelook"):
        spec = Spec(order_items=4_000, dialect=dialect, days=12, files=3, bad_rate=0.15, seed=7)
        sets[f"generated_{dialect}"] = generate(spec)
    corpus: dict[str, bytes] = dict(BASE)
    for case in CASES:
        # each case's files under its own names, so one batch holds them all (and their duplicates)
        corpus.update({_renamed(name, case.id): data for name, data in case.files.items()})
    sets["corpus"] = corpus
    return sets


def _renamed(name: str, case_id: str) -> str:
    stem, dot, ext = name.partition(".")
    return f"{stem}_{case_id}{dot}{ext}" if not stem.startswith("products") else f"products_{case_id}{dot}{ext}"


INPUTS = _inputs()


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_the_vectorised_path_equals_the_reference_path(name: str) -> None:
    files = [InputFile(f"incoming/{n}", data) for n, data in INPUTS[name].items()]
    fast = validate_batch("b", files, Known(), None, now=NOW)
    exact = validate_batch("b", files, Known(), None, now=NOW, exact=True)

    assert fast.report == exact.report
    assert fast.report["totals"]["rows_read"] > 0
    for kind in fast.staged:
        assert_frame_equal(fast.staged[kind], exact.staged[kind])
    assert_frame_equal(fast.held, exact.held)
    assert fast.rejected_rows.keys() == exact.rejected_rows.keys()
    for file_name, rows in fast.rejected_rows.items():
        assert_frame_equal(rows, exact.rejected_rows[file_name])
    assert {k: m.reason for k, m in fast.malformed.items()} == {k: m.reason for k, m in exact.malformed.items()}
    assert_frame_equal(fast.pending, exact.pending)

    staged = fast.staged
    if staged["orders"].empty:
        return
    assert_frame_equal(
        order_kpis(staged["orders"], staged["order_items"]),
        order_kpis(exact.staged["orders"], exact.staged["order_items"]),
    )
    assert_frame_equal(
        category_kpis(staged["orders"], staged["order_items"], staged["products"]),
        category_kpis(exact.staged["orders"], exact.staged["order_items"], exact.staged["products"]),
    )


def test_the_generated_data_holds_every_kind_of_bad_row() -> None:
    """The comparison above is only as good as its input: every reason the generator can cause."""
    files = [InputFile(f"incoming/{n}", d) for n, d in INPUTS["generated_seed"].items()]
    report = validate_batch("b", files, Known(), None, now=NOW).report
    reasons = set().union(*(f["reasons"] for f in report["files"]))
    assert {
        "unparsable_date",
        "future_date",
        "unknown_status",
        "missing_value",
        "duplicate_key",
        "unparsable_number",
        "negative_amount",
        "quantity_below_1",
        "wrong_field_count",
        "unknown_product",
        "unknown_order",
    } <= reasons, reasons
