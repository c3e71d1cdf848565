"""`ecompipe sql` and `ecompipe ask`: read-only SQL over the curated store and the KPI tables, and
questions in words (docs/queries.md). A refused statement or a question outside the vocabulary is a
usage error (exit 2) with a sentence saying why."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import click
from rich.table import Table

from ecompipe.cli import render
from ecompipe.cli.common import Refusal, endpoint_option, failures, settings_for, stderr, stdout
from ecompipe.core.csvsafe import spreadsheet_cell
from ecompipe.core.settings import Settings

output_option = click.option(
    "--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
engine_option = click.option(
    "--engine",
    type=click.Choice(["duckdb", "athena"]),
    default="duckdb",
    show_default=True,
    help="duckdb: embedded, over a synced copy of curated/ and the KPI tables; athena: the stack's workgroup.",
)
max_rows_option = click.option(
    "--max-rows", type=click.IntRange(1, 1_000_000), default=None, help="Rows at most (ECOMPIPE_QUERY_MAX_ROWS)."
)
timeout_option = click.option(
    "--timeout", "timeout_seconds", type=click.IntRange(1, 3600), default=None,
    help="Seconds before the query is stopped (ECOMPIPE_QUERY_TIMEOUT_SECONDS).",
)  # fmt: skip


def _settings(endpoint_url: str | None, max_rows: int | None, timeout_seconds: int | None) -> Settings:
    settings = settings_for(endpoint_url)
    if max_rows is not None:
        settings = replace(settings, query_max_rows=max_rows)
    if timeout_seconds is not None:
        settings = replace(settings, query_timeout_seconds=timeout_seconds)
    return settings


def _answer(settings: Settings, engine_name: str, work: Callable) -> dict:
    """Open the engine and run `work(engine, limits)`; a refusal exits 2 with its sentence alone."""
    from questions import engines
    from questions.duck import QueryFailed, TooSlow
    from questions.guard import Refused
    from questions.reading import NotUnderstood

    with failures(settings):
        engine = engines.open_engine(settings, engine_name)
        try:
            return work(engine, engines.limits(settings)).to_json()
        except (Refused, NotUnderstood) as exc:
            raise Refusal(str(exc)) from None
        except (TooSlow, QueryFailed) as exc:
            raise click.ClickException(str(exc)) from None


@click.command()
@click.argument("statement")
@engine_option
@output_option
@max_rows_option
@timeout_option
@endpoint_option
def sql(
    statement: str,
    engine: str,
    output: str,
    max_rows: int | None,
    timeout_seconds: int | None,
    endpoint_url: str | None,
) -> None:
    """Run one SELECT over the tables orders, order_items, products, order_kpis, category_kpis and
    rejections (docs/queries.md). Anything else is refused with the reason (exit 2)."""
    from questions import answers

    settings = _settings(endpoint_url, max_rows, timeout_seconds)
    _print(_answer(settings, engine, lambda e, limits: answers.sql(e, statement, limits)), output)


@click.command()
@click.argument("question")
@click.option("--today", default=None, help="The date relative phrases count from (YYYY-MM-DD; default: today, UTC).")
@engine_option
@output_option
@max_rows_option
@timeout_option
@endpoint_option
def ask(
    question: str,
    today: str | None,
    engine: str,
    output: str,
    max_rows: int | None,
    timeout_seconds: int | None,
    endpoint_url: str | None,
) -> None:
    """Answer a question in words ("revenue by category last week"): the rows, the SQL it ran and
    how it was understood. A question outside the vocabulary gets "I don't understand" and three
    that work (exit 2); docs/queries.md lists what it reads."""
    from questions import answers

    day = _today(today)
    settings = _settings(endpoint_url, max_rows, timeout_seconds)
    _print(_answer(settings, engine, lambda e, limits: answers.ask(e, question, day, limits)), output)


def _today(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint="--today") from None


def _print(doc: dict, output: str) -> None:
    """The answer on stdout (values exactly as they are: no markup, no bytes stripped), how it was
    understood and what ran on stderr."""
    if output == "json":
        click.echo(json.dumps(doc, ensure_ascii=False), color=True)
    elif output == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([spreadsheet_cell(c) for c in doc["columns"]])
        writer.writerows([[spreadsheet_cell(v) for v in row] for row in doc["rows"]])
        click.echo(out.getvalue(), nl=False, color=True)
    else:
        table = Table(title=render.literal(doc["interpretation"] or "SQL"), title_justify="left")
        for column in doc["columns"]:
            table.add_column(render.literal(column))
        for row in doc["rows"]:
            render.add_row(table, *("" if v is None else v for v in row))
        stdout.print(table)
    if doc["interpretation"]:
        stderr.print(render.literal(f"understood as: {doc['interpretation']}"), style="dim", markup=False)
    stderr.print(render.literal(f"sql: {doc['sql']}"), style="dim", markup=False)
    for note in doc["notes"]:
        stderr.print(render.literal(note), style="yellow", markup=False)
    stderr.print(f"{doc['row_count']} rows in {doc['seconds']:.2f} s ({doc['engine']})", style="dim")
