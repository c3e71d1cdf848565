"""`ecompipe problems` and `ecompipe alerts`: every workload's problems and alerts, one feed each
(ecompipe.batch.feeds; the same as GET /api/errors and GET /api/alerts)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click
from rich.table import Table

from ecompipe.cli import render
from ecompipe.cli.common import endpoint_option, failures, parse_date, settings_for, stdout
from ecompipe.core.csvsafe import spreadsheet_cell

PROBLEM_COLUMNS = ("source", "kind", "day", "batch_id", "file", "line", "reason", "detail")
ALERT_COLUMNS = ("at", "source", "kind", "message")
output_option = click.option(
    "--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
page_options = (
    click.option("--page", type=click.IntRange(1), default=1, show_default=True),
    click.option("--page-size", type=click.IntRange(1, 500), default=50, show_default=True),
)


def _pages(f: Any) -> Any:
    for option in reversed(page_options):
        f = option(f)
    return f


@click.command()
@click.option("--source", type=click.Choice(["batch", "events", "sales", "events_dlq"]), help="Only this workload's.")
@click.option("--from", "date_from", help="From this day (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Up to this day (YYYY-MM-DD).")
@click.option("--reason", help="A reason code, or words of a reason.")
@click.option("--batch", help="One batch id.")
@click.option("--file", "file_name", help="One file name.")
@_pages
@output_option
@endpoint_option
def problems(
    source: str | None,
    date_from: str | None,
    date_to: str | None,
    reason: str | None,
    batch: str | None,
    file_name: str | None,
    page: int,
    page_size: int,
    output: str,
    endpoint_url: str | None,
) -> None:
    """Every workload's problems, newest first: the batches' rejected rows, rejected files and
    failed runs; invalid event records; incomplete sales records and rejected sales files; messages
    in the events DLQ."""
    from ecompipe.batch import feeds
    from ecompipe.batch.resources import Resources

    settings = settings_for(endpoint_url)
    filters = feeds.Filters(
        source, parse_date(date_from, "--from"), parse_date(date_to, "--to"), reason, batch, file_name
    )
    with failures(settings):
        doc = feeds.page(feeds.problems(Resources.from_settings(settings), filters), page, page_size)
    _print(doc, PROBLEM_COLUMNS, output, "problems")


@click.command()
@click.option("--source", type=click.Choice(["events", "batch"]), help="Only the consumer's, or the batch runs'.")
@click.option("--kind", help="large_order, invalid, low_stock, or a batch run's event.")
@_pages
@output_option
@endpoint_option
def alerts(
    source: str | None, kind: str | None, page: int, page_size: int, output: str, endpoint_url: str | None
) -> None:
    """Every alert sent, newest first: the events consumer's (large order, invalid data, low stock)
    and each batch run's notification."""
    from ecompipe.batch import feeds
    from ecompipe.batch.resources import Resources

    settings = settings_for(endpoint_url)
    with failures(settings):
        doc = feeds.page(feeds.alerts(Resources.from_settings(settings), source, kind), page, page_size)
    _print(doc, ALERT_COLUMNS, output, "alerts")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _print(doc: dict[str, Any], columns: tuple[str, ...], output: str, what: str) -> None:
    """The page on stdout, every value literal: JSON as is, CSV safe to open in a spreadsheet, a
    table that shows text as text."""
    if output == "json":
        click.echo(json.dumps(doc, ensure_ascii=False), color=True)
        return
    rows = [[_cell(item.get(c)) for c in columns] for item in doc["items"]]
    if output == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[spreadsheet_cell(v) for v in row] for row in rows])
        click.echo(out.getvalue(), nl=False, color=True)
        return
    shown = f"{len(doc['items'])} of {doc['total']} {what}, page {doc['page']}"
    table = Table(title=shown, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        render.add_row(table, *row)
    stdout.print(table)
