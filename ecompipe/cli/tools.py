"""Commands around the pipeline: the emulator, local validation, generated data, the API server and
the container's task entry point."""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import click

from ecompipe.cli import render
from ecompipe.cli.common import (
    DEFAULT_DATA,
    batch_process,
    endpoint_option,
    failures,
    parse_date,
    settings_for,
    stderr,
    stdout,
)
from ecompipe.core.errors import EcompipeError
from ecompipe.core.taskenv import TASK_COMMANDS


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option(
    "--bind",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; 0.0.0.0 only inside a container (docker-compose.yml), never on a host.",
)
def emulator(port: int, bind: str) -> None:
    """Run the AWS emulator in the foreground so several commands can share it (Ctrl-C stops it)."""
    from ecompipe.local.emulator import Emulator

    emu = Emulator(port, bind)
    with failures():
        url = emu.start()
    click.echo(url)
    stderr.print(f"emulator listening; use --endpoint-url {url} or ECOMPIPE_ENDPOINT_URL={url}", style="dim")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON report.")
@batch_process
def validate(directory: Path, report_path: Path | None) -> None:
    """Validate DIRECTORY's CSV files locally (no AWS at all); exit 1 only when no row is valid.

    References are checked within these files only: items whose order or product is not among
    them are counted as pending.
    """
    from ecompipe.aws.manifests import batch_id_for
    from ecompipe.aws.objects import ObjectInfo
    from ecompipe.cli.inputs import csv_files
    from validator.batch import InputFile, Known, validate_batch

    try:
        paths = csv_files(directory)
    except EcompipeError as exc:
        raise click.UsageError(str(exc)) from None
    if not paths:
        raise click.UsageError(f"no .csv files under {directory}")
    settings = settings_for(None)
    limit = settings.max_file_mb * 2**20
    stats = [p.stat() for p in paths]
    # each file read when it is parsed, one at a time (not all at once, up front): a file over the
    # size limit never
    files = [
        InputFile(f"incoming/{p.name}", None, st.st_size, path=None if limit and st.st_size > limit else p)
        for p, st in zip(paths, stats, strict=True)
    ]
    batch_id = batch_id_for(
        [ObjectInfo(f.key, st.st_size, str(st.st_mtime_ns)) for f, st in zip(files, stats, strict=True)]
    )
    result = validate_batch(
        batch_id,
        files,
        Known(),
        None,
        now=datetime.now(UTC),
        max_pending_age_days=settings.pending_max_age_days,
        examples=settings.report_examples,
        report_only=True,  # the report is all this command shows
    )
    report = result.report
    if report_path:
        report_path.write_text(json.dumps(report, indent=2, default=str))
    render.file_table(stdout, report)
    click.echo(render.summary_line(report, str(report_path) if report_path else "(not written; use --report)"))
    if report["totals"]["accepted"] == 0:
        sys.exit(1)


@click.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--order-items", type=click.IntRange(1), required=True, help="How many order items (rows, thelook).")
@click.option("--dialect", type=click.Choice(["seed", "thelook"]), default="seed", show_default=True)
@click.option(
    "--days", type=click.IntRange(1), default=30, show_default=True, help="Order dates spread over this many days."
)
@click.option("--files", type=click.IntRange(1), default=5, show_default=True, help="Files per kind (orders, items).")
@click.option("--bad-rate", type=click.FloatRange(0, 0.5), default=0.0, show_default=True, help="Share of bad rows.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--start", default="2025-01-01", show_default=True, help="First order date.")
def generate(
    out: Path, order_items: int, dialect: str, days: int, files: int, bad_rate: float, seed: int, start: str
) -> None:
    """Write a deterministic, realistic batch to OUT: multi-item orders across categories, returns
    and cancellations, order files spanning many days, items split across files, and optionally a
    share of bad rows of every kind the validator knows."""
    from ecompipe.local.generate import Spec
    from ecompipe.local.generate import generate as make

    parse_date(start, "--start")
    out.mkdir(parents=True, exist_ok=True)
    spec = Spec(order_items, dialect, days, files, bad_rate, seed, start)
    total = 0
    for name, data in make(spec).items():
        (out / name).write_bytes(data)
        total += len(data)
    click.echo(f"wrote {len(list(out.glob('*.csv')))} files ({total / 2**20:.1f} MiB) to {out}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--demo",
    is_flag=True,
    help="Start the embedded emulator, run sample_data/seed through the pipeline, and serve that.",
)
@endpoint_option
def serve(host: str, port: int, demo: bool, endpoint_url: str | None) -> None:
    """Serve the KPI API and the dashboard at http://HOST:PORT/ (OpenAPI at /openapi.json).

    Reads the KPI tables, the run ledger and the reports of the endpoint given (an emulator) or of
    AWS. With ECOMPIPE_API_KEY set, every /api route needs it in the X-API-Key header.
    """
    try:
        import uvicorn

        from ecompipe.api import create_app
    except ImportError as exc:
        raise click.UsageError(
            f"ecompipe serve needs the local extra ({exc.name} is missing): pip install -e '.[local]'"
        ) from None
    from ecompipe.cli.inputs import csv_files
    from ecompipe.cli.run import resources_on, upload_and_run

    settings = settings_for(endpoint_url)
    if demo and settings.endpoint_url:
        raise click.UsageError("--demo starts its own emulator: leave out --endpoint-url / ECOMPIPE_ENDPOINT_URL")
    if demo and not DEFAULT_DATA.is_dir():
        raise click.UsageError(f"--demo loads {DEFAULT_DATA}/, which is not here: run it from the project folder")
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key:
        stderr.print(f"serving on {host} without ECOMPIPE_API_KEY: anyone who reaches it can upload", style="yellow")
    with failures(settings), ExitStack() as stack:
        if demo:
            res = resources_on(stack, settings)
            result = upload_and_run(res, csv_files(DEFAULT_DATA), None, "inprocess")
            stderr.print(render.summary_line(result.report, render.report_uri(res.settings.bucket, result.batch_id)))
            settings = res.settings
        app = create_app(settings)
        stderr.print(f"dashboard at http://{host}:{port}/ (Ctrl-C stops)")
        uvicorn.run(app, host=host, port=port, log_level="warning")


@click.command("task")
@click.argument("command", type=click.Choice(TASK_COMMANDS))
@batch_process
def task_command(command: str) -> None:
    """A container command: one stage of one batch (ECOMPIPE_RUN_ID, ECOMPIPE_BATCH_ID from the
    state machine's overrides). Records its outcome in the run ledger; exits 1 on failure."""
    from ecompipe.batch import tasks
    from ecompipe.batch.resources import Resources
    from ecompipe.core.observability import emit_metrics, set_level
    from ecompipe.core.taskenv import TaskInput

    settings = settings_for(None)
    set_level(settings.log_level)
    if command == "sales-split":
        from events import split

        with failures(settings):
            click.echo(json.dumps(split.run_task(settings, os.environ)))
        return
    with failures(settings):
        task = TaskInput.from_env()
        res = Resources.from_settings(settings)
        result = tasks.run(command, res, task)
    emit_metrics(result.emf)  # EMF on stdout: CloudWatch Logs extracts the metrics
