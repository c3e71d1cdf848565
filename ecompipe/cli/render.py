"""What a person reads in a terminal: rich consoles and tables over results.

Everything printed is literal. The consoles parse no markup and no emoji codes, so a category
named ``[bold]`` or ``:smile:`` prints as written; control characters (an escape sequence in a
cell) are shown as ``\\xNN``. The KPI model and its JSON and CSV forms (spreadsheet-safe, through
ecompipe.core.csvsafe) are ecompipe.core.kpis.
"""

from __future__ import annotations

import re
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecompipe.core import kpis, layout

# control characters, and the Unicode ones that break a line or reorder or hide what follows (line
# and paragraph separators, bidi overrides and isolates, zero-width marks, the BOM)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def console(*, stderr: bool) -> Console:
    """A console that prints every value as written: no markup, emoji codes or highlighting.
    Piped output keeps whole values instead of squeezing tables into 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        stderr=stderr,
        soft_wrap=True,
        width=None if stream.isatty() else 200,
        markup=False,
        emoji=False,
        highlight=False,
    )


def literal(value: object) -> str:
    """A value as text a terminal shows as it is (control characters made visible as \\xNN or \\uNNNN)."""
    return _CONTROL.sub(_visible, str(value))


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def add_row(table: Table, *cells: object) -> None:
    """A row of literal cells (no markup, control characters made visible)."""
    table.add_row(*(Text(literal(c)) for c in cells))


def kpi_tables(console: Console, order_rows: list[dict], category_rows: list[dict]) -> None:
    for title, rows, fields in (
        ("Order KPIs", order_rows, kpis.ORDER_FIELDS),
        ("Category KPIs", category_rows, kpis.CATEGORY_FIELDS),
    ):
        table = Table(title=f"{title} ({len(rows)} rows)")
        for f in fields:
            table.add_column(f, justify="left" if f in ("order_date", "category") else "right")
        for r in kpis.public_rows(rows, fields):
            add_row(table, *(f"{r[f]:.4f}" if f in kpis.RATE_FIELDS else r[f] for f in fields))
        console.print(table)


def file_table(console: Console, report: dict) -> None:
    """Per-file validation counts, with the top reasons."""
    table = Table(title=Text(literal(f"Validation of {report['batch_id']}")))
    for col in ("file", "kind", "dialect", "read", "accepted", "rejected", "pending", "reasons"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "rejected", "pending") else "left")
    for f in report["files"]:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(f["reasons"].items(), key=lambda kv: -kv[1])[:4])
        if f["status"] == "rejected":
            reasons = f"FILE REJECTED: {f['error']['message']}"
        add_row(
            table,
            f["file"].rsplit("/", 1)[-1],
            str(f["kind"] or "?"),
            str(f["dialect"] or "-"),
            str(f["rows_read"]),
            str(f["accepted"]),
            str(f["rejected"]),
            str(f["pending"]),
            reasons,
        )
    console.print(table)


def report_uri(bucket: str, batch_id: str) -> str:
    """Where a batch's validation report is, as people copy it into `aws s3 cp`."""
    return f"s3://{bucket}/{layout.report_key(batch_id)}"


def summary_line(report: dict, report_location: str) -> str:
    t = report["totals"]
    p = report["pending"]
    extra = f", {p['resolved']} pending resolved" if p.get("resolved") else ""
    fanned = f"{len(report['fan_out']['parsed_by_tasks'])} parsed in parallel, " if "fan_out" in report else ""
    return (
        f"{t['files']} files ({fanned}{t['rejected_files']} rejected whole), rows: {t['accepted']} accepted, "
        f"{t['rejected']} rejected, {t['pending']} pending{extra}; report: {report_location}"
    )


def batches_table(console: Console, batches: list[dict]) -> None:
    table = Table(title=f"Last {len(batches)} batches")
    for col in ("batch", "created", "files", "state", "accepted", "rejected", "pending", "dates"):
        table.add_column(col)
    for b in batches:
        add_row(
            table,
            b["batch_id"],
            b["created_at"][:19],
            str(b["files"]),
            b["state"],
            *(str(b.get(k, "-")) for k in ("accepted", "rejected", "pending", "dates")),
        )
    console.print(table)


def files_cell(run: dict) -> str:
    """A run's file count; for a fanned-out run, how many its parse-file tasks parsed."""
    files = str(run.get("files", "-"))
    return f"{files} ({run['parts']} in parallel)" if run.get("parts") else files


def dates_cell(run: dict) -> str:
    """A run's affected dates; for a fanned-out run, in how many groups its tasks transformed them."""
    dates = str(run.get("affected_dates", "-"))
    return f"{dates} ({run['date_groups']} groups in parallel)" if run.get("date_groups") else dates


def runs_table(console: Console, runs: list[dict]) -> None:
    table = Table(title=f"{len(runs)} runs, newest first")
    for col in ("run", "status", "stage", "started", "files", "accepted", "rejected", "pending", "dates", "error"):
        table.add_column(col)
    for r in runs:
        add_row(
            table,
            r["run_id"],
            str(r.get("status", "?")),
            str(r.get("failed_stage") or r.get("stage", "")),
            str(r.get("started_at", ""))[:19],
            files_cell(r),
            *(str(r.get(k, "-")) for k in ("accepted", "rejected", "pending")),
            dates_cell(r),
            str(r.get("error", ""))[:60],
        )
    console.print(table)


def rechecked_line(rechecked: dict) -> str:
    """Why a batch's held items and the pending set were checked again at its commit."""
    validated = str(rechecked.get("validated_at"))[:19]
    return f"rechecked at its commit ({rechecked['at'][:19]}), validated {validated}: {rechecked['why']}"


def report_tables(console: Console, report: dict) -> None:
    """The validation report for people: per file its counts, reasons and examples."""
    t = report["totals"]
    console.print(
        Text.assemble(
            (literal(report["batch_id"]), "bold"),
            f"  {t['files']} files ({t['rejected_files']} rejected whole), {t['rows_read']} rows read: "
            f"{t['accepted']} accepted, {t['rejected']} rejected, {t['pending']} pending",
        )
    )
    if "fan_out" in report:
        fan = report["fan_out"]
        here = f"; parsed by validate itself: {', '.join(fan['parsed_here'])}" if fan["parsed_here"] else ""
        tasks = len(fan["parsed_by_tasks"])
        console.print(Text(literal(f"fanned out: {tasks} files parsed by parse-file tasks{here}")))
    if "rechecked_at_commit" in report:
        console.print(Text(literal(rechecked_line(report["rechecked_at_commit"]))))
    for f in report["files"]:
        head = literal(f"{f['file']}  [{f['kind'] or '?'}/{f['dialect'] or '-'}]")
        if f["status"] == "rejected":
            error = literal(f"FILE REJECTED ({f['error']['reason']}): {f['error']['message']}")
            console.print(Text(f"{head}  {error}", style="red"))
            continue
        console.print(
            Text(f"{head}  read {f['rows_read']}: {f['accepted']} ok, {f['rejected']} rejected, {f['pending']} pending")
        )
        if not f["examples"]:
            continue
        table = Table(show_header=True, box=None, padding=(0, 1))
        for col in ("reason", "count", "line", "column", "value"):
            table.add_column(col)
        for reason, examples in f["examples"].items():
            for i, e in enumerate(examples):
                add_row(
                    table,
                    reason if i == 0 else "",
                    str(f["reasons"][reason]) if i == 0 else "",
                    str(e["line"]),
                    str(e["column"] or ""),
                    e["value"],
                )
        console.print(table)
    w = report["warnings"]
    if w["count"]:
        console.print(Text(literal(f"{w['count']} warnings: {w['by_type']}")))


def pairs_table(console: Console, title: str, rows: list[tuple[str, object]]) -> None:
    """A two-column table of names and values."""
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in rows:
        add_row(table, name, value)
    console.print(table)
