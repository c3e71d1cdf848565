"""Issue 13, class 4 on the pure helpers: printed values are literal, spreadsheet cells inert."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ecompipe.cli import render
from ecompipe.core.csvsafe import spreadsheet_cell, spreadsheet_frame

pytestmark = pytest.mark.unit


@given(st.text(max_size=30))
@example("\x1f\x1f\u2028")  # a line separator once split the cell (found by this test)
@example("paid\u202egnp.exe")  # a bidi override reorders what follows
@example("a\u2029b\u200bc\ufeff")
def test_any_category_prints_as_written_in_every_table(category: str) -> None:
    """Property: a KPI table over any text prints without error and shows the value literally."""
    out = io.StringIO()
    console = render.console(stderr=False)
    console.file = out
    row = {"category": category, "order_date": "2025-06-01", "daily_revenue": 1, "avg_order_value": 1}
    render.kpi_tables(console, [], [{**row, "avg_return_rate": 0}])
    printed = out.getvalue()
    assert render.literal(category) in printed
    assert "\x1b" not in printed
    assert not any(c in printed for c in "\u2028\u2029\u202e\u200b\ufeff")


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-5", "-5"),  # a plain number is no formula
        ("+3.25", "+3.25"),
        ("Books", "Books"),
        (12, 12),
    ],
)
def test_formula_leading_cells_are_neutralised(cell: object, safe: object) -> None:
    assert spreadsheet_cell(cell) == safe


def test_frames_keep_their_non_text_columns() -> None:
    frame = pd.DataFrame({"=h": ["=x", None], "n": [1, 2]})
    out = spreadsheet_frame(frame)
    assert list(out.columns) == ["'=h", "n"] and out["'=h"].tolist()[0] == "'=x" and out["n"].tolist() == [1, 2]


def test_console_ignores_markup_and_emoji_codes() -> None:
    console = render.console(stderr=False)
    console.file = io.StringIO()
    console.print("[/] [bold] :smile:")
    assert console.file.getvalue() == "[/] [bold] :smile:\n"


def test_the_dashboard_writes_values_as_text_never_as_markup() -> None:
    """The page builds every node with createElement and fills it with textContent: no API that
    parses a string as HTML appears in its script."""
    from tests.conftest import ROOT

    script = (ROOT / "ecompipe" / "static" / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser", "eval("):
        assert sink not in script, sink
    assert "textContent" in script


def test_a_fanned_out_run_shows_the_parts_it_was_made_of() -> None:
    """`ecompipe runs` and `ecompipe report`: one run, with how many files its parse-file tasks
    parsed, in how many groups its transform-group tasks did its dates, and which (if any) files
    validate parsed itself, the keys printed literally."""
    from datetime import UTC, datetime

    from validator.batch import InputFile, Known, validate_batch

    out = io.StringIO()
    console = render.console(stderr=False)
    console.file = out
    run = {"run_id": "r1", "status": "SUCCEEDED", "files": 11, "parts": 10, "affected_dates": 31, "date_groups": 4}
    render.runs_table(console, [run])
    assert "11 (10 in parallel)" in out.getvalue() and "31 (4 groups in parallel)" in out.getvalue()
    files = [InputFile("incoming/orders_a.csv", b"order_id,user_id,order_date,status\n1,2,2025-06-01,delivered\n")]
    report = validate_batch("b", files, Known(), None, now=datetime(2026, 1, 1, tzinfo=UTC)).report
    here = "incoming/orders_[bold]b.csv"
    report["fan_out"] = {"parsed_by_tasks": ["incoming/orders_a.csv"], "parsed_here": [here]}
    report["rechecked_at_commit"] = {"why": "the [red]pending set changed", "at": "2026-01-01T00:05:00+00:00"}
    report["rechecked_at_commit"]["validated_at"] = "2026-01-01T00:00:00+00:00"
    render.report_tables(console, report)
    assert f"1 files parsed by parse-file tasks; parsed by validate itself: {here}" in out.getvalue()
    assert "rechecked at its commit (2026-01-01T00:05:00), validated 2026-01-01T00:00:00: the [red]pending" in (
        out.getvalue()
    )
