"""Property: over random mixes of valid and invalid rows in both dialects, split across files,
every row read is accepted, rejected or held — exactly the ones the generator meant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.conftest import NOW
from tests.support.strategies import Batch, batches
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.unit


@settings(max_examples=40)
@given(batches())
def test_rows_read_are_accepted_rejected_or_pending(batch: Batch) -> None:
    files = [InputFile(f"incoming/{name}", data) for name, data in batch.files.items()]
    report = validate_batch("b-prop", files, Known(), None, now=NOW).report
    for f in report["files"]:
        assert f["status"] == "ok", f
        assert f["rows_read"] == f["accepted"] + f["rejected"] + f["pending"], f["file"]
    totals = report["totals"]
    valid = len(batch.products) + len(batch.orders) + len(batch.items)
    assert totals["rows_read"] == batch.rows
    assert (totals["accepted"], totals["rejected"], totals["pending"]) == (
        valid,
        batch.bad["rejected"],
        batch.bad["pending"],
    )
