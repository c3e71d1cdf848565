"""Looking at a pipeline: its bucket and tables (init), the KPIs, the runs
and their reports."""

from __future__ import annotations

import json

import click

from ecompipe.batch.resources import Resources
from ecompipe.cli import render
from ecompipe.cli.common import (
    batch_id_param,
    endpoint_option,
    failures,
    parse_date,
    settings_for,
    stdout,
)
from ecompipe.cli.events import init_events
from ecompipe.core import kpis as kpi_model
from ecompipe.core import layout
from ecompipe.core.statuses import RUN_STATUSES


@click.command()
@endpoint_option
def init(endpoint_url: str | None) -> None:
    """Create the bucket, the KPI and run tables, and the events workload's tables, queues and topic
    if missing (idempotent)."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        Resources.from_settings(settings).init()
        urls = init_events(settings)
    click.echo(f"bucket {settings.bucket}, tables {settings.order_table} and {settings.category_table} ready")
    click.echo(f"events: queue {urls['queue_url']} (DLQ {urls['dlq_url']}), alerts {urls['topic_arn']} ready")


@click.command()
@click.option("--date", "on_date", default=None, help="One order date (YYYY-MM-DD).")
@click.option("--from", "date_from", default=None, help="First order date (inclusive).")
@click.option("--to", "date_to", default=None, help="Last order date (inclusive).")
@click.option("--category", default=None, help="Only this category (category KPIs).")
@click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@endpoint_option
def kpis(
    on_date: str | None,
    date_from: str | None,
    date_to: str | None,
    category: str | None,
    output: str,
    endpoint_url: str | None,
) -> None:
    """Print the stored KPIs, optionally for a date or a date range and one category."""
    if on_date and (date_from or date_to):
        raise click.UsageError("give either --date or --from/--to, not both")
    date_from = parse_date(on_date or date_from, "--from")
    date_to = parse_date(on_date or date_to, "--to")
    if date_from and date_to and date_from > date_to:
        raise click.UsageError(f"--from {date_from} is after --to {date_to}")
    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        orders = res.kpis.order_kpis(date_from, date_to)
        categories = res.kpis.category_kpis(date_from, date_to, category)
    if category is not None:
        orders = []  # order KPIs have no category
    if output == "json":
        click.echo(kpi_model.kpis_json(orders, categories))
    elif output == "csv":
        click.echo(kpi_model.kpis_csv(orders, categories), nl=False, color=True)  # data: never strip bytes
    else:
        render.kpi_tables(stdout, orders, categories)


@click.command()
@click.option(
    "--status", "status_filter", default=None, help=f"Only runs with this status ({', '.join(RUN_STATUSES)})."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def runs(status_filter: str | None, limit: int, output: str, endpoint_url: str | None) -> None:
    """Run history from the ledger (PipelineRuns), newest first."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        history = Resources.from_settings(settings).ledger.recent(
            limit, status_filter.upper() if status_filter else None
        )
    if output == "json":
        click.echo(json.dumps(history, indent=2, default=str))
    else:
        render.runs_table(stdout, history)


@click.command()
@click.argument("batch_id", callback=batch_id_param)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def report(batch_id: str, output: str, endpoint_url: str | None) -> None:
    """A batch's validation report: a table per file with its reasons and examples, or raw JSON."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        doc = Resources.from_settings(settings).bucket.get_json(layout.report_key(batch_id))
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        render.report_tables(stdout, doc)
