"""A run exits 0 only when its report accounts for every file it uploaded (ecompipe.batch.accounting)."""

from __future__ import annotations

import pytest

from ecompipe.batch.accounting import unaccounted

pytestmark = pytest.mark.unit


def _file(key: str, status: str = "ok", read: int = 3, accepted: int = 2, rejected: int = 1, pending: int = 0) -> dict:
    return {
        "file": key,
        "status": status,
        "rows_read": read,
        "accepted": accepted,
        "rejected": rejected,
        "pending": pending,
    }


def test_files_processed_or_rejected_whole_are_accounted_for() -> None:
    report = {"files": [_file("incoming/a.csv"), _file("incoming/b.csv", "rejected", 0, 0, 0)], "skipped_files": []}
    assert unaccounted(report, ["incoming/a.csv", "incoming/b.csv"]) == []


def test_a_file_left_unread_missing_or_short_of_rows_is_named_with_what_happened() -> None:
    report = {
        "files": [_file("incoming/short.csv", read=5)],
        "skipped_files": [{"file": "incoming/gone.csv", "message": "s3://b/incoming/gone.csv does not exist"}],
    }
    assert unaccounted(report, ["incoming/short.csv", "incoming/gone.csv", "incoming/absent.csv"]) == [
        "incoming/short.csv: 5 rows read, 3 of them accepted, rejected or held",
        "incoming/gone.csv was not processed: s3://b/incoming/gone.csv does not exist",
        "incoming/absent.csv is not in the batch's report",
    ]
