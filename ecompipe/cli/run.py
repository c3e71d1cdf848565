"""`ecompipe run`: a directory of CSV files through the pipeline on an emulator, and the KPIs it made."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecompipe.aws.objects import ObjectInfo
from ecompipe.batch.pipeline import RunResult
from ecompipe.batch.resources import Resources
from ecompipe.cli import render
from ecompipe.cli.common import (
    DEFAULT_DATA,
    Failure,
    batch_process,
    failures,
    owner,
    say_waiting,
    settings_for,
    stderr,
    stdout,
    workers_option,
)
from ecompipe.core import kpis as kpi_model
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from ecompipe.local.emulator import EmulatorProcess

if TYPE_CHECKING:  # the sales workflow loads the events consumer: only when there are JSON files
    from ecompipe.local.sales import SalesRun


@click.command()
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
    help="How the local task runner runs ECS tasks (--via statemachine): inprocess, as threads of this command "
    "(--workers at once); subprocess, one interpreter per task, as a container would (isolated, and slower: "
    "each pays its start and its memory afresh, docs/benchmarks.md); docker needs a Docker engine.",
)
@workers_option
@batch_process
def run(
    directory: Path | None, output: str, endpoint_url: str | None, via: str | None, task_mode: str, workers: int
) -> None:
    """Run the pipeline on DIRECTORY's CSV files (default: sample_data/seed) and print the KPIs;
    JSON sales files beside them each go through the sales workflow (docs/events.md).

    Without --endpoint-url (or ECOMPIPE_ENDPOINT_URL) the embedded emulator is started for the run.
    With one worker no batch fans out; with more, one of at least ECOMPIPE_FAN_OUT_MIN_MB does.
    """
    from ecompipe.batch.accounting import unaccounted
    from ecompipe.cli.inputs import csv_files, json_files, other_files

    directory = directory or DEFAULT_DATA
    if not directory.is_dir():
        raise click.UsageError(f"{directory} is not a directory")
    if task_mode == "docker":
        _require_docker()
    # the Map's children at once are the runner's workers: with one, no batch fans out
    # (trigger.decision.fans_out says why); with more, a fanned-out transform has as many groups
    # (tasks.transform_bins), each paying its fixed cost once, not one group per file
    settings = settings_for(endpoint_url)
    settings = replace(settings, fan_out_concurrency=min(settings.fan_out_concurrency, workers))
    started = time.monotonic()
    with failures(settings):
        files, sales_files = csv_files(directory), json_files(directory)
        for path in other_files(directory):
            stderr.print(f"not taken: {path} (not a .csv, .csv.gz or .json file)", style="yellow")
        if not files and not sales_files:
            raise click.UsageError(f"no .csv, .csv.gz or .json files under {directory}")
        with ExitStack() as stack:
            res = resources_on(stack, settings)
            if sales_files:
                _print_sales(run_sales_files(res.settings, sales_files))
            if not files:
                return
            result = upload_and_run(res, files, via, task_mode, workers)
            dates = set(result.affected_dates)
            orders = [r for r in res.kpis.order_kpis() if r["order_date"] in dates]
            categories = [r for r in res.kpis.category_kpis() if r["order_date"] in dates]
    summary = (
        render.summary_line(result.report, render.report_uri(res.settings.bucket, result.batch_id))
        + f" ({time.monotonic() - started:.1f}s)"
    )
    if output == "json":
        click.echo(kpi_model.kpis_json(orders, categories))
        stderr.print(summary)
    else:
        render.file_table(stderr, result.report)
        render.kpi_tables(stdout, orders, categories)
        click.echo(summary)
    lost = unaccounted(result.report, [layout.incoming_key(p.name) for p in files])
    if lost:
        raise Failure(f"{len(lost)} of the {len(files)} uploaded files are not accounted for: " + "; ".join(lost))


def run_sales_files(settings: Settings, files: list[Path]) -> SalesRun:
    from ecompipe.local.sales import run_sales_files as run_files

    stderr.print(f"{len(files)} JSON sales file(s): one workflow each", style="dim")
    return run_files(settings, files)


def _print_sales(run: SalesRun) -> None:
    """One line per sales file on stderr (stdout keeps the KPIs' JSON)."""
    for f in run.files:
        if f.rejected is not None:
            stderr.print(f"{f.name}: rejected: {f.rejected}", style="red")
        else:
            waiting = "" if f.all_judged else f", {f.records - f.complete - f.incomplete} not judged yet"
            stderr.print(
                f"{f.name}: {f.records} records, {f.complete} complete (Sales table), "
                f"{f.incomplete} incomplete (ecompipe sales dlq){waiting}"
            )


def resources_on(stack: ExitStack, settings: Settings) -> Resources:
    """The command's bucket and tables, created if missing: at the endpoint given, or on an
    embedded emulator started for the command and stopped with `stack`."""
    if not settings.endpoint_url:
        # the tasks' libraries (pandas, pyarrow, pandera) load while this process waits on the emulator
        threading.Thread(target=_import_tasks, name="ecompipe-import-tasks", daemon=True).start()
        url = stack.enter_context(EmulatorProcess())
        stderr.print(f"embedded emulator at {url}", style="dim")
        settings = settings.with_endpoint(url)
    res = Resources.from_settings(settings)
    res.init()
    return res


def _import_tasks() -> None:
    import transformer.task  # noqa: F401
    import validator.task  # noqa: F401


def upload_and_run(res: Resources, files: list[Path], via: str | None, task_mode: str, workers: int = 1) -> RunResult:
    """Upload the files to incoming/ and run them as one batch (ECOMPIPE_RUN_VIA or `via`)."""
    from ecompipe.batch.pipeline import upload

    uploads = upload(res.bucket, files)
    stderr.print(f"uploaded {len(uploads)} files to s3://{res.settings.bucket}/incoming/", style="dim")
    take_over_from_the_dead(res)
    refuse_if_committing_elsewhere(res)
    if (via or res.settings.run_via) == "statemachine":
        result = run_through_state_machine(res, uploads, task_mode, workers)
    else:
        result = run_through_trigger(res, uploads)
    return result


def _require_docker() -> None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        raise click.UsageError(
            f"--tasks docker needs a running Docker engine, and none answers ({type(exc).__name__}); "
            "use --tasks inprocess or subprocess"
        ) from None


def run_through_state_machine(
    res: Resources, keys: Sequence[str | ObjectInfo], task_mode: str, workers: int = 1
) -> RunResult:
    """upload -> trigger -> the real state machine on the emulator -> tasks by the local runner."""
    from ecompipe.local import stack as local_aws
    from ecompipe.local.starter import run_via_state_machine

    assert res.settings.endpoint_url
    local_aws.configure_emulator(res.settings.endpoint_url)
    stack = local_aws.deploy(res.settings)
    execution, result = run_via_state_machine(
        res, stack, keys, owner=owner(), runner_mode=task_mode, waiting=say_waiting, workers=workers
    )
    run = res.ledger.get(execution["name"]) or {}
    batch = run.get("status")  # the batch's own outcome, said only where it adds something (REJECTED)
    stderr.print(
        f"execution {execution['executionArn']}: {execution['status']}"
        + (f", the batch {batch}" if batch and batch != execution["status"] else ""),
        style="dim",
    )
    if execution["status"] != "SUCCEEDED" or result is None:
        raise Failure(
            f"the run failed ({execution['status']}): {run.get('error') or execution.get('cause') or 'no detail'}; "
            f"see the run ledger ({res.settings.runs_table}) for {execution['name']}"
        )
    return result


def run_through_trigger(res: Resources, keys: Sequence[str | ObjectInfo]) -> RunResult:
    """upload -> trigger -> start, with the local starter: an explicit request processes exactly the
    uploaded keys as one batch whatever the thresholds (saying so when they are not met)."""
    from ecompipe.local.starter import LocalStarter, cleaned_up_on_exit, when_lease_is_free
    from trigger.sweep import sweep

    leases = res.leases()
    starter = LocalStarter(res, leases)
    with cleaned_up_on_exit(leases, owner()):
        outcome = when_lease_is_free(
            lambda: sweep(res.settings, res.bucket, leases, starter, owner=owner(), keys=keys, explicit=True),
            600,
            say_waiting,
        )
    if outcome.reason.startswith("explicit request"):
        stderr.print(f"{outcome.reason}: processing the uploaded files anyway", style="yellow")
    if not outcome.started:
        raise Failure(f"the batch did not start: {outcome.reason}")
    with cleaned_up_on_exit(leases, owner()):
        result = starter.run(say_waiting)
    if result is None:
        raise Failure(f"the batch did not run: {outcome.reason}")
    return result


def take_over_from_the_dead(res: Resources) -> None:
    """What a command on this host that was killed still holds is freed now, and said (the
    refusal below stays for live owners and for owners this host cannot see)."""
    from ecompipe.local.starter import take_over_from_the_dead as take_over

    for line in take_over(res):
        stderr.print(render.literal(f"took over: {line}"), style="yellow")


def refuse_if_committing_elsewhere(res: Resources) -> None:
    """A run waits for the commit lease of another command on this machine (that run ends, then
    this one commits), but one held by anyone else, or by a process that is gone, is reported at
    once: waiting would only end when it expires (`ecompipe status`, `unlock --force`)."""
    from datetime import UTC, datetime

    from ecompipe.aws.claims import Claims, holder_alive
    from ecompipe.aws.lock import held_message

    lease = res.leases().current()
    now = datetime.now(UTC)
    if lease is None or lease.is_expired(now):
        return
    if holder_alive(lease, Claims(res.leases()).all()) is not True:
        raise Failure(f"the batch did not start: {held_message(lease, now)}")


def run_keys(res: Resources, keys: list[str]) -> RunResult:
    """Files already in incoming/ on an emulator, through the normal path: the state machine
    (ECOMPIPE_RUN_VIA=statemachine) or the same steps in process."""
    take_over_from_the_dead(res)
    refuse_if_committing_elsewhere(res)
    if res.settings.run_via == "statemachine":
        return run_through_state_machine(res, keys, "inprocess")
    return run_through_trigger(res, keys)
