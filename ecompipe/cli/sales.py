"""`ecompipe sales ...`: JSON sales files (docs/events.md, "Sales files"): what waits in the sales DLQ."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ecompipe.aws import clients as aws
from ecompipe.cli import render
from ecompipe.cli.common import endpoint_option, failures, queue_or_fail, settings_for, stdout
from events import queues
from events.outbox import parked_views


@click.group()
def sales() -> None:
    """JSON sales files: each record through the events consumer; incomplete ones in the sales DLQ."""


@sales.command()
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True, help="List at most this many.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def dlq(limit: int, output: str, endpoint_url: str | None) -> None:
    """The incomplete sales records in the sales DLQ, with the part missing or bad, for inspection
    and correction. They stay where they are (read with visibility 0)."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        sqs = aws.client("sqs", settings)
        url = queue_or_fail(sqs, settings.sales_dlq)
        parked = [v for m in queues.peek(sqs, url, limit) for v in parked_views(m["body"])]
    parked.sort(key=lambda p: (str(p["file"]), p["index"] if isinstance(p["index"], int) else -1))
    if output == "json":
        click.echo(json.dumps(parked))
        return
    table = Table(title=f"{len(parked)} incomplete sales records")
    for column in ("file", "index", "what is missing or bad", "record"):
        table.add_column(column)
    for p in parked:
        why = "; ".join(f"{r.get('field')}: {r.get('reason')}" for r in p["reasons"])
        record = json.dumps(p["record"], ensure_ascii=False)
        render.add_row(table, p["file"] or "-", "-" if p["index"] is None else p["index"], why, record[:120])
    stdout.print(table)
