"""The ecompipe command line. Results go to stdout; progress and logs to stderr.

Exit codes: 0 success (even when rows were rejected), 1 the run failed, 2 usage errors.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ecompipe.aws.clients import client as aws_client
from ecompipe.aws.clients import endpoint_answers
from ecompipe.aws.lock import Lease, cli_owner, owner_alive
from ecompipe.batch.pipeline import Resources, RunResult
from ecompipe.cli import render
from ecompipe.core import kpis as kpi_model
from ecompipe.core import layout
from ecompipe.core.dates import parse_day
from ecompipe.core.errors import EcompipeError, LayoutError
from ecompipe.core.settings import Settings
from ecompipe.core.statuses import RUN_STATUSES
from ecompipe.core.taskenv import TASK_COMMANDS
from ecompipe.local.emulator import Emulator

DEFAULT_DATA = Path("sample_data/seed")
# piped output keeps whole values instead of squeezing tables into 80 columns
stdout = render.console(stderr=False)
stderr = render.console(stderr=True)


def _settings(endpoint_url: str | None) -> Settings:
    """Settings from the environment; an explicit endpoint must answer (fail fast, not after retries)."""
    try:
        settings = Settings.from_env().with_endpoint(endpoint_url)
    except EcompipeError as exc:
        raise click.UsageError(str(exc)) from None
    if settings.endpoint_url and not endpoint_answers(settings.endpoint_url):
        raise Failure(
            f"nothing answers at {settings.endpoint_url}; start an emulator there (ecompipe emulator --port N) "
            "or leave out --endpoint-url / ECOMPIPE_ENDPOINT_URL to use the embedded one"
        )
    return settings


def _date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_day(value, name).isoformat()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


class Failure(click.ClickException):
    """A run that failed: message on stderr, exit 1."""

    exit_code = 1


@contextmanager
def failures(settings: Settings | None = None) -> Iterator[None]:
    """Turn the errors a run can meet into one clear line and exit 1 (no traceback)."""
    where = f" at {settings.endpoint_url}" if settings and settings.endpoint_url else ""
    try:
        yield
    except EcompipeError as exc:
        raise Failure(str(exc)) from None
    except NoCredentialsError:
        raise Failure(
            "no AWS credentials found: configure AWS, or use --endpoint-url / the embedded emulator"
        ) from None
    except EndpointConnectionError as exc:
        raise Failure(f"cannot reach AWS{where}: {exc}") from None
    except ClientError as exc:
        raise Failure(f"AWS refused a request{where}: {exc}") from None
    except BotoCoreError as exc:
        raise Failure(f"AWS client error{where}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecompipe")
@click.option("-v", "--verbose", is_flag=True, help="Show the stages' structured logs (stderr).")
def main(verbose: bool) -> None:
    """ecompipe: e-commerce CSV batches -> validated, curated data -> exact KPIs in DynamoDB."""
    from ecompipe.core.observability import set_level

    set_level("INFO" if verbose else "WARNING")
    # SIGTERM ends a command the way Ctrl-C does: its cleanup (stopping its execution, freeing its
    # lease) runs instead of the process vanishing mid-run
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


endpoint_option = click.option(
    "--endpoint-url", default=None, help="AWS endpoint (an emulator); default: ECOMPIPE_ENDPOINT_URL, else AWS."
)


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--endpoint-url", default=None, help="Use this endpoint instead of starting the embedded emulator.")
@click.option(
    "--via",
    type=click.Choice(["statemachine", "direct"]),
    default=None,
    help="statemachine (default; ECOMPIPE_RUN_VIA): the real ASL on the emulator's Step Functions, "
    "ECS tasks run locally; direct: the same steps in process (for a plain moto server).",
)
@click.option(
    "--tasks",
    "task_mode",
    type=click.Choice(["inprocess", "subprocess", "docker"]),
    default="inprocess",
    show_default=True,
    help="How the local task runner runs ECS tasks (--via statemachine); docker needs a Docker engine.",
)
def run(directory: Path | None, output: str, endpoint_url: str | None, via: str | None, task_mode: str) -> None:
    """Run the pipeline on DIRECTORY's CSV files (default: sample_data/seed) and print the KPIs.

    Without --endpoint-url (or ECOMPIPE_ENDPOINT_URL) the embedded emulator is started for the run.
    """
    from ecompipe.batch.pipeline import csv_files

    directory = directory or DEFAULT_DATA
    if not directory.is_dir():
        raise click.UsageError(f"{directory} is not a directory")
    if task_mode == "docker":
        _require_docker()
    settings = _settings(endpoint_url)
    started = time.monotonic()
    with failures(settings):
        files = csv_files(directory)
        if not files:
            raise click.UsageError(f"no .csv files under {directory}")
        with ExitStack() as stack:
            if not settings.endpoint_url:
                url = stack.enter_context(Emulator())
                stderr.print(f"embedded emulator at {url}", style="dim")
                settings = settings.with_endpoint(url)
            res = Resources.from_settings(settings)
            res.init()
            result = _upload_and_run(res, files, via, task_mode)
            dates = set(result.affected_dates)
            orders = [r for r in res.kpis.order_kpis() if r["order_date"] in dates]
            categories = [r for r in res.kpis.category_kpis() if r["order_date"] in dates]
    location = f"s3://{settings.bucket}/reports/{result.batch_id}/validation.json"
    summary = render.summary_line(result.report, location) + f" ({time.monotonic() - started:.1f}s)"
    if output == "json":
        click.echo(kpi_model.kpis_json(orders, categories))
        stderr.print(summary)
    else:
        render.file_table(stderr, result.report)
        render.kpi_tables(stdout, orders, categories)
        click.echo(summary)


def _upload_and_run(res: Resources, files: list[Path], via: str | None, task_mode: str) -> RunResult:
    from ecompipe.batch.pipeline import upload

    keys = upload(res.bucket, files)
    stderr.print(f"uploaded {len(keys)} files to s3://{res.settings.bucket}/incoming/", style="dim")
    if (via or res.settings.run_via) == "statemachine":
        return _run_through_state_machine(res, keys, task_mode)
    return _run_through_trigger(res, keys)


def _require_docker() -> None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        raise click.UsageError(
            f"--tasks docker needs a running Docker engine, and none answers ({type(exc).__name__}); "
            "use --tasks inprocess or subprocess"
        ) from None


def _run_through_state_machine(res: Resources, keys: list[str], task_mode: str) -> RunResult:
    """upload -> trigger -> the real state machine on the emulator -> tasks by the local runner."""
    from ecompipe.local import stack as local_aws
    from ecompipe.local.starter import run_via_state_machine

    assert res.settings.endpoint_url
    local_aws.configure_emulator(res.settings.endpoint_url)
    stack = local_aws.deploy(res.settings)
    execution, result = run_via_state_machine(
        res, stack, keys, owner=_owner(), runner_mode=task_mode, waiting=_say_waiting
    )
    run = res.ledger.get(execution["name"]) or {}
    stderr.print(
        f"execution {execution['executionArn']}: {execution['status']} ({run.get('status', '?')})", style="dim"
    )
    if execution["status"] != "SUCCEEDED" or result is None:
        raise Failure(
            f"the run failed ({execution['status']}): {run.get('error') or execution.get('cause') or 'no detail'}; "
            f"see the run ledger ({res.settings.runs_table}) for {execution['name']}"
        )
    return result


def _run_through_trigger(res: Resources, keys: list[str]) -> RunResult:
    """upload -> trigger -> start, with the local starter: an explicit request processes exactly the
    uploaded keys as one batch whatever the thresholds (saying so when they are not met)."""
    from ecompipe.local.starter import LocalStarter, cleaned_up_on_exit, when_lease_is_free
    from trigger.sweep import sweep

    leases = res.leases()
    starter = LocalStarter(res, leases)
    with cleaned_up_on_exit(leases, _owner()):
        outcome = when_lease_is_free(
            lambda: sweep(res.settings, res.bucket, leases, starter, owner=_owner(), keys=keys, explicit=True),
            leases,
            600,
            _say_waiting,
        )
    if outcome.reason.startswith("explicit request"):
        stderr.print(f"{outcome.reason}: processing the uploaded files anyway", style="yellow")
    if not outcome.started or starter.result is None:
        raise Failure(f"the batch did not start: {outcome.reason}")
    return starter.result


def _say_waiting(holder: Lease) -> None:
    stderr.print(f"waiting for run {holder.run_id} ({holder.owner}) to release the lease", style="yellow")


def _owner() -> str:
    return cli_owner()


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def emulator(port: int) -> None:
    """Run the AWS emulator in the foreground so several commands can share it (Ctrl-C stops it)."""
    emu = Emulator(port)
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


@main.command()
@endpoint_option
def init(endpoint_url: str | None) -> None:
    """Create the bucket and the KPI tables if missing (idempotent)."""
    settings = _settings(endpoint_url)
    with failures(settings):
        Resources.from_settings(settings).init()
    click.echo(f"bucket {settings.bucket}, tables {settings.order_table} and {settings.category_table} ready")


@main.command()
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
    date_from = _date(on_date or date_from, "--from")
    date_to = _date(on_date or date_to, "--to")
    if date_from and date_to and date_from > date_to:
        raise click.UsageError(f"--from {date_from} is after --to {date_to}")
    settings = _settings(endpoint_url)
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


@main.command()
@click.option(
    "--runs", "last", type=click.IntRange(0, 100), default=5, show_default=True, help="How many recent batches."
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def status(last: int, output: str, endpoint_url: str | None) -> None:
    """The lease holder and its age, pending files against the thresholds, and the last batches."""
    from ecompipe.batch.history import recent_batches
    from trigger.decision import decide
    from trigger.sweep import pending_files

    settings = _settings(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        now = datetime.now(UTC)
        lease = res.leases().current()
        files = pending_files(res.bucket)
        decision = decide(files, res.bucket.exists(layout.CURATED_PRODUCTS_KEY), settings, now)
        batches = recent_batches(res.bucket, last)
    doc = {
        "lease": None
        if lease is None
        else {
            "run_id": lease.run_id,
            "owner": lease.owner,
            "acquired_at": lease.acquired_at.isoformat(),
            "age_minutes": round(lease.age(now).total_seconds() / 60, 1),
            "expires_at": lease.expires_at.isoformat(),
            "expired": lease.is_expired(now),
            "owner_alive": owner_alive(lease.owner),
        },
        "pending": {
            "files": len(files),
            "orders": decision.counts.orders,
            "order_items": decision.counts.order_items,
            "products": decision.counts.products,
            "other": decision.counts.other,
            "thresholds": {
                "orders": settings.min_order_files,
                "order_items": settings.min_item_files,
                "products": settings.min_product_files,
                "force_after_minutes": settings.force_after_minutes,
            },
            "would_start": decision.start,
            "reason": decision.reason,
        },
        "last_batches": batches,
    }
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    held = doc["lease"]
    if held is None:
        click.echo("lease: free")
    else:
        state = "EXPIRED" if held["expired"] else "live"
        click.echo(
            render.literal(
                f"lease: {state}, run {held['run_id']} ({held['owner']}), {held['age_minutes']} min old, "
                f"expires {held['expires_at']}"
            )
        )
        if held["owner_alive"] is False and not held["expired"]:
            click.echo(
                "  its process is gone (killed?): `ecompipe unlock --force` frees the lease now; "
                "otherwise it expires by itself (docs/operations.md, recovery)"
            )
    click.echo(f"pending: {len(files)} files; {decision.reason}")
    render.batches_table(stdout, batches)


@main.command()
@click.option("--force", is_flag=True, help="Also remove a live lease (only when its run is known to be dead).")
@endpoint_option
def unlock(force: bool, endpoint_url: str | None) -> None:
    """Remove the pipeline lease. An expired lease goes without --force; a live one needs it."""
    settings = _settings(endpoint_url)
    with failures(settings):
        leases = Resources.from_settings(settings).leases()
        lease = leases.current()
        if lease is None:
            click.echo("no lease is held")
            return
        now = datetime.now(UTC)
        if not lease.is_expired(now) and not force:
            raise Failure(
                f"the lease of run {lease.run_id} ({lease.owner}) is live: "
                f"{lease.age(now).total_seconds() / 60:.0f} min old, expires {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC. "
                "Use --force only if that run is dead."
            )
        if not leases.release(lease):
            raise Failure("the lease changed while unlocking (another run took it); nothing removed")
    click.echo(f"removed the {'expired' if lease.is_expired(now) else 'live'} lease of run {lease.run_id}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON report.")
def validate(directory: Path, report_path: Path | None) -> None:
    """Validate DIRECTORY's CSV files locally (no AWS at all); exit 1 only when no row is valid.

    References are checked within these files only: items whose order or product is not among
    them are counted as pending.
    """
    from ecompipe.aws.manifests import batch_id_for
    from ecompipe.aws.objects import ObjectInfo
    from ecompipe.batch.pipeline import csv_files
    from validator.batch import InputFile, Known, validate_batch

    try:
        paths = csv_files(directory)
    except EcompipeError as exc:
        raise click.UsageError(str(exc)) from None
    if not paths:
        raise click.UsageError(f"no .csv files under {directory}")
    settings = _settings(None)
    limit = settings.max_file_mb * 2**20
    files = [
        InputFile(
            f"incoming/{p.name}", None if limit and p.stat().st_size > limit else p.read_bytes(), p.stat().st_size
        )
        for p in paths
    ]
    batch_id = batch_id_for([ObjectInfo(f.key, f.size, str(hash(f.data))) for f in files])
    result = validate_batch(
        batch_id,
        files,
        Known(),
        None,
        now=datetime.now(UTC),
        max_pending_age_days=settings.pending_max_age_days,
        examples=settings.report_examples,
    )
    report = result.report
    if report_path:
        report_path.write_text(json.dumps(report, indent=2, default=str))
    render.file_table(stdout, report)
    click.echo(render.summary_line(report, str(report_path) if report_path else "(not written; use --report)"))
    if report["totals"]["accepted"] == 0:
        sys.exit(1)


@main.command()
@click.option(
    "--batch-id", default=None, help="Run this recorded batch again (its manifest's files) under a new run id."
)
@click.option("--wait", is_flag=True, help="Follow the execution to its end; exit 1 unless it succeeded.")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(1), default=3600, show_default=True)
@endpoint_option
def start(batch_id: str | None, wait: bool, timeout_seconds: int, endpoint_url: str | None) -> None:
    """Start the state machine by hand and print the execution ARN.

    Without --batch-id, every file pending in incoming/ becomes one batch (whatever the thresholds).
    On AWS the state machine is ECOMPIPE_STATE_MACHINE_ARN; on an emulator (--endpoint-url) the
    local stack is deployed if needed, and --wait also runs the ECS tasks there.
    """
    from ecompipe.aws.manifests import Manifest, read_manifest
    from ecompipe.local import stack as local_aws
    from ecompipe.local.runner import LocalTaskRunner
    from ecompipe.local.starter import cleaned_up_on_exit, wait_for
    from trigger.starters import StepFunctionsStarter
    from trigger.sweep import pending_files, start_manifest

    settings = _settings(endpoint_url)
    with failures(settings), ExitStack() as stack:
        res = Resources.from_settings(settings)
        sfn = aws_client("stepfunctions", settings)
        arn, cluster = settings.state_machine_arn, None
        if settings.endpoint_url:
            local_aws.configure_emulator(settings.endpoint_url)
            res.init()
            deployed = local_aws.deploy(settings)
            arn, cluster = arn or deployed.state_machine_arn, deployed.cluster_arn
        if not arn:
            raise click.UsageError("set ECOMPIPE_STATE_MACHINE_ARN (the stack's StateMachineArn output)")
        if batch_id:
            manifest = read_manifest(res.bucket, batch_id)
            run_id = f"{batch_id}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        else:
            files = pending_files(res.bucket)
            if not files:
                raise Failure(f"nothing to start: s3://{settings.bucket}/incoming/ holds no CSV file")
            manifest, run_id = Manifest.for_files(files), None
        outcome = start_manifest(
            settings,
            res.bucket,
            res.leases(),
            StepFunctionsStarter(sfn, arn),
            manifest,
            owner=_owner(),
            run_id=run_id,
            ledger=res.ledger,
        )
        if not outcome.started or not outcome.execution:
            raise Failure(outcome.reason)
        click.echo(outcome.execution)
        if not wait:
            return
        if cluster:
            stack.enter_context(LocalTaskRunner(settings, cluster))
        with cleaned_up_on_exit(res.leases(), _owner(), sfn, execution_arn=outcome.execution):
            described = wait_for(sfn, outcome.execution, timeout_seconds)
    stderr.print(f"execution {described['status']}")
    if described["status"] != "SUCCEEDED":
        raise Failure(
            f"execution {described['status']}: {described.get('error', '')} {described.get('cause', '')}".strip()
        )


@main.command()
@click.option(
    "--status", "status_filter", default=None, help=f"Only runs with this status ({', '.join(RUN_STATUSES)})."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def runs(status_filter: str | None, limit: int, output: str, endpoint_url: str | None) -> None:
    """Run history from the ledger (PipelineRuns), newest first."""
    settings = _settings(endpoint_url)
    with failures(settings):
        history = Resources.from_settings(settings).ledger.recent(
            limit, status_filter.upper() if status_filter else None
        )
    if output == "json":
        click.echo(json.dumps(history, indent=2, default=str))
    else:
        render.runs_table(stdout, history)


def _batch_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Batch ids become key parts: refuse anything that would leave the bucket layout."""
    try:
        return None if value is None else layout.check_batch_id(value)
    except LayoutError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("batch_id", callback=_batch_id)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def report(batch_id: str, output: str, endpoint_url: str | None) -> None:
    """A batch's validation report: a table per file with its reasons and examples, or raw JSON."""
    settings = _settings(endpoint_url)
    with failures(settings):
        doc = Resources.from_settings(settings).bucket.get_json(layout.report_key(batch_id))
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        render.report_tables(stdout, doc)


@main.command()
@click.option(
    "--batch",
    "batch_id",
    default=None,
    callback=_batch_id,
    help="Run a past batch again, as a new batch, from processed/ or rejected/.",
)
@click.option("--from", "date_from", default=None, help="Recompute the KPIs of a date range from curated/ ...")
@click.option("--to", "date_to", default=None, help="... up to this date (inclusive).")
@click.option("--pending", is_flag=True, help="Re-check the items held in pending/ now.")
@click.option("--dry-run", is_flag=True, help="Print what would happen; change nothing.")
@endpoint_option
def reprocess(
    batch_id: str | None,
    date_from: str | None,
    date_to: str | None,
    pending: bool,
    dry_run: bool,
    endpoint_url: str | None,
) -> None:
    """Re-run what went wrong: a past batch (--batch), the KPIs of dates (--from/--to), or pending/ (--pending).

    Works against the endpoint given (an emulator) or, without one, AWS. A batch goes through the
    normal path (lease, state machine); KPIs and pending items are processed here, under the lease.
    """
    from ecompipe.batch import reprocess as rp

    modes = [
        m for m, on in (("--batch", batch_id), ("--from/--to", date_from or date_to), ("--pending", pending)) if on
    ]
    if len(modes) != 1:
        raise click.UsageError("give exactly one of --batch ID, --from D --to D, --pending")
    settings = _settings(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        if batch_id:
            plan = rp.plan_batch(res, batch_id)
            for source, target in plan.copies:
                click.echo(f"{'would copy' if dry_run else 'copy'} {source} -> {target}")
            for key in plan.missing:
                click.echo(f"missing (skipped): {key}")
            if dry_run:
                click.echo(f"would run {len(plan.copies)} files as a new batch through the normal path")
                return
            keys = rp.put_back(res, plan)
            if settings.endpoint_url is None:
                # on AWS the upload events reach the trigger, which takes the files as a new batch
                click.echo(
                    f"{len(keys)} files of {batch_id} are back in s3://{settings.bucket}/incoming/ for the trigger"
                )
                return
            result = _run_batch_keys(res, keys)
            click.echo(render.summary_line(result.report, layout.report_key(result.batch_id)))
            click.echo(f"batch {batch_id} ran again as {result.batch_id}")
        elif date_from or date_to:
            if not (date_from and date_to):
                raise click.UsageError("--from and --to go together")
            lo, hi = _date(date_from, "--from"), _date(date_to, "--to")
            assert lo and hi
            if lo > hi:
                raise click.UsageError(f"--from {lo} is after --to {hi}")
            kpi_plan = rp.plan_kpis(res, lo, hi)
            verb = "would" if dry_run else "will"
            click.echo(
                f"{len(kpi_plan.dates)} dates in {lo}..{hi}: {verb} write {kpi_plan.to_write} items, "
                f"delete {kpi_plan.to_delete}, leave {kpi_plan.unchanged} unchanged"
            )
            if not dry_run:
                with _held_lease(res, f"reprocess-kpis-{lo}-{hi}"):
                    written = rp.apply_kpis(res, kpi_plan)
                click.echo(f"rewrote {written} KPI items")
        else:
            counts = rp.plan_pending(res)
            click.echo(
                f"pending: {counts['carried_in']} held; {counts['resolved']} would resolve, "
                f"{counts['expired']} would expire, {counts['still_pending']} would stay"
            )
            if not dry_run and counts["carried_in"]:
                manifest = rp.pending_manifest()
                with _held_lease(res, manifest.batch_id):
                    result = rp.recheck_pending(res, manifest)
                click.echo(f"re-checked as {result.batch_id}: {json.dumps(result.report['pending'])}")


@contextmanager
def _held_lease(res: Resources, run_id: str) -> Iterator[None]:
    """Do something under the pipeline lease, so no run transforms at the same time."""
    leases = res.leases()
    lease = leases.acquire(run_id, _owner())
    try:
        yield
    finally:
        leases.release(lease)


def _run_batch_keys(res: Resources, keys: list[str]) -> RunResult:
    """Files already in incoming/ on an emulator, through the normal path: the state machine
    (ECOMPIPE_RUN_VIA=statemachine) or the same steps in process."""
    if res.settings.run_via == "statemachine":
        return _run_through_state_machine(res, keys, "inprocess")
    return _run_through_trigger(res, keys)


@main.command()
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

    _date(start, "--start")
    out.mkdir(parents=True, exist_ok=True)
    spec = Spec(order_items, dialect, days, files, bad_rate, seed, start)
    total = 0
    for name, data in make(spec).items():
        (out / name).write_bytes(data)
        total += len(data)
    click.echo(f"wrote {len(list(out.glob('*.csv')))} files ({total / 2**20:.1f} MiB) to {out}")


@main.command()
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
    from ecompipe.batch.pipeline import csv_files

    settings = _settings(endpoint_url)
    if demo and settings.endpoint_url:
        raise click.UsageError("--demo starts its own emulator: leave out --endpoint-url / ECOMPIPE_ENDPOINT_URL")
    if demo and not DEFAULT_DATA.is_dir():
        raise click.UsageError(f"--demo loads {DEFAULT_DATA}/, which is not here: run it from the project folder")
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key:
        stderr.print(f"serving on {host} without ECOMPIPE_API_KEY: anyone who reaches it can upload", style="yellow")
    with failures(settings), ExitStack() as stack:
        if demo:
            url = stack.enter_context(Emulator())
            stderr.print(f"embedded emulator at {url}", style="dim")
            settings = settings.with_endpoint(url)
            res = Resources.from_settings(settings)
            res.init()
            result = _upload_and_run(res, csv_files(DEFAULT_DATA), None, "inprocess")
            stderr.print(render.summary_line(result.report, layout.report_key(result.batch_id)))
        app = create_app(settings)
        stderr.print(f"dashboard at http://{host}:{port}/ (Ctrl-C stops)")
        uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command("task")
@click.argument("command", type=click.Choice(TASK_COMMANDS))
def task_command(command: str) -> None:
    """A container command: one stage of one batch (ECOMPIPE_RUN_ID, ECOMPIPE_BATCH_ID from the
    state machine's overrides). Records its outcome in the run ledger; exits 1 on failure."""
    from ecompipe.batch import tasks
    from ecompipe.core.observability import emit_metrics, set_level
    from ecompipe.core.taskenv import TaskInput

    settings = _settings(None)
    set_level(settings.log_level)
    with failures(settings):
        task = TaskInput.from_env()
        res = Resources.from_settings(settings)
        result = tasks.run(command, res, task)
    emit_metrics(command, result.metrics)  # EMF on stdout: CloudWatch Logs extracts the metrics


if __name__ == "__main__":
    main()
