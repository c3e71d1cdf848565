"""Every case of the bad-input corpus (tests/support/corpus.py) through the real pipeline on moto: the
report says what became of each file, nothing vanishes (rejected files and rows land in
rejected/ with their reasons, held items in pending/) and the good rows still reach the KPIs.
A file over ECOMPIPE_MAX_FILE_MB is the one case not here: test_pipeline.py holds it."""

from __future__ import annotations

import csv
import io

import pytest

from ecompipe.aws import parquet
from ecompipe.core import layout
from tests.support.corpus import BASE, CASES, Case
from tests.support.helpers import run_files

pytestmark = pytest.mark.functional


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(resources, case: Case) -> None:
    files = {**BASE, **case.files}
    result = run_files(resources, files)
    bucket, batch = resources.bucket, result.batch_id
    entries = {f["file"].removeprefix("incoming/"): f for f in result.report["files"]}

    for name, expect in case.expect.items():
        entry = entries[name]
        assert entry["rows_read"] == entry["accepted"] + entry["rejected"] + entry["pending"]
        if expect.file_error:
            assert entry["status"] == "rejected" and entry["error"]["reason"] == expect.file_error
            assert entry["error"]["message"]
            assert bucket.get_bytes(layout.rejected_file_key(batch, name)) == files[name]
            assert expect.file_error.encode() in bucket.get_bytes(layout.rejected_reason_key(batch, name))
            continue
        got = (entry["accepted"], entry["rejected"], entry["pending"], entry["reasons"])
        assert got == (expect.accepted, expect.rejected, expect.pending, expect.reasons)
        assert entry.get("blank_lines", 0) == expect.blank_lines
        assert tuple(entry.get("ignored_columns") or ()) == expect.ignored_columns
        for reason, examples in entry.get("examples", {}).items():
            assert all(e["line"] >= 2 and e["reason"] == reason for e in examples)
        if expect.rejected:
            text = bucket.get_bytes(layout.rejected_rows_key(batch, name)).decode()
            rows = list(csv.DictReader(io.StringIO(text)))
            assert len(rows) == expect.rejected
            assert {reason for row in rows for reason in row["reason"].split(";")} <= set(expect.reasons)
        if expect.pending:
            held = parquet.get_frame(bucket, layout.PENDING_ITEMS_KEY)
            assert (held["source_file"] == layout.incoming_key(name)).sum() == expect.pending

    # nothing is left behind and the good orders reached the KPI table
    assert bucket.list(layout.INCOMING) == []
    accepted_orders = sum(f["accepted"] for n, f in entries.items() if n.startswith("orders_"))
    assert sum(day["total_orders"] for day in resources.kpis.order_kpis()) == accepted_orders
