"""`ecompipe start`: the state machine started by hand."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from ecompipe.aws.clients import client as aws_client
from ecompipe.batch.resources import Resources
from ecompipe.cli.common import (
    Failure,
    batch_process,
    endpoint_option,
    failures,
    owner,
    settings_for,
    stderr,
    workers_option,
)

if TYPE_CHECKING:
    from ecompipe.aws.manifests import Manifest


@click.command()
@click.option(
    "--batch-id", default=None, help="Run this recorded batch again (its manifest's files) under a new run id."
)
@click.option("--wait", is_flag=True, help="Follow the execution to its end; exit 1 unless it succeeded.")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(1), default=3600, show_default=True)
@endpoint_option
@workers_option
@batch_process
def start(batch_id: str | None, wait: bool, timeout_seconds: int, endpoint_url: str | None, workers: int) -> None:
    """Start the state machine by hand and print the execution ARN.

    Without --batch-id, every file pending in incoming/ becomes one batch (whatever the thresholds).
    On AWS the state machine is ECOMPIPE_STATE_MACHINE_ARN; on an emulator (--endpoint-url) the
    local stack is deployed if needed, and --wait also runs the ECS tasks there (--workers at once).
    """
    from ecompipe.local import stack as local_aws
    from ecompipe.local.runner import LocalTaskRunner
    from ecompipe.local.starter import cleaned_up_on_exit, execution_name, wait_for
    from trigger.starters import StepFunctionsStarter
    from trigger.sweep import start_manifest

    settings = settings_for(endpoint_url)
    if workers > 1 and not (settings.endpoint_url and wait):
        raise click.UsageError("--workers is for the local task runner: with --wait on an emulator (--endpoint-url)")
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
        manifest, run_id = _what_to_start(res, batch_id)
        starter = StepFunctionsStarter(sfn, arn)
        outcome = start_manifest(
            settings, res.bucket, res.leases(), starter, manifest, owner=owner(), run_id=run_id, ledger=res.ledger
        )
        if not outcome.started or not outcome.execution:
            raise Failure(outcome.reason)
        click.echo(outcome.execution)
        if not wait:
            return
        if cluster:
            runs = {execution_name(outcome.execution)}  # only this run's tasks are run here
            stack.enter_context(LocalTaskRunner(settings, cluster, workers=workers, runs=runs))
        with cleaned_up_on_exit(res.leases(), owner(), sfn, execution_arn=outcome.execution):
            described = wait_for(sfn, outcome.execution, timeout_seconds)
    stderr.print(f"execution {described['status']}")
    if described["status"] != "SUCCEEDED":
        raise Failure(
            f"execution {described['status']}: {described.get('error', '')} {described.get('cause', '')}".strip()
        )


def _what_to_start(res: Resources, batch_id: str | None) -> tuple[Manifest, str | None]:
    """A recorded batch again, under a new run id; or every CSV file in incoming/ that no running
    batch claimed, as one batch."""
    from ecompipe.aws.claims import Claims, claimed_keys
    from ecompipe.aws.manifests import Manifest, read_manifest
    from trigger.sweep import pending_files

    if batch_id:
        return read_manifest(res.bucket, batch_id), f"{batch_id}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    files = pending_files(res.bucket, claimed_keys(Claims(res.leases()).all(), datetime.now(UTC)))
    if not files:
        raise Failure(f"nothing to start: s3://{res.settings.bucket}/incoming/ holds no CSV file that no run claimed")
    return Manifest.for_files(files), None
