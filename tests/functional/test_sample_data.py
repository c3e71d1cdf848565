"""sample_data/README.md says what each bad row does; this checks the validator agrees."""

from __future__ import annotations

import re

import pytest

from tests.conftest import SAMPLE
from tests.support.helpers import read_dir, run_files

pytestmark = pytest.mark.functional


def _documented() -> set[tuple[str, int, str]]:
    rows = set()
    for line in (SAMPLE / "README.md").read_text().splitlines():
        m = re.match(r"\| (\S+\.csv) \| (\d+) \| .* \| (?:rejected|held in `pending/`): `(\w+)`", line)
        if m:
            rows.add((m.group(1), int(m.group(2)), m.group(3)))
    return rows


def test_sample_data_outcomes_match_its_readme(resources) -> None:
    documented = _documented()
    assert len(documented) == 8
    result = run_files(resources, read_dir(SAMPLE))
    seen = {
        (f["file"].removeprefix("incoming/"), e["line"], reason)
        for f in result.report["files"]
        for reason, examples in f["examples"].items()
        for e in examples
    }
    assert seen == documented
    assert result.report["totals"] == {
        "rows_read": 429,
        "accepted": 421,
        "rejected": 6,
        "pending": 2,
        "files": 11,
        "rejected_files": 0,
    }
    assert "421 rows accepted, 6 rejected, 2 pending" in (SAMPLE / "README.md").read_text()
