"""`ecompipe start`: the state machine started by hand."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime

import click

from ecompipe.aws.clients import client as aws_client
from ecompipe.batch.pipeline import Resources
from ecompipe.cli.common import (
    Failure,
    endpoint_option,
    failures,
    local_task_mode,
    owner,
    settings_for,
    stderr,
    workers_option,
)


@click.command()
@click.option(
    "--batch-id", default=None, help="Run this recorded batch again (its manifest's files) under a new run id."
)
@click.option("--wait", is_flag=True, help="Follow the execution to its end; exit 1 unless it succeeded.")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(1), default=3600, show_default=True)
@endpoint_option
@workers_option
def start(batch_id: str | None, wait: bool, timeout_seconds: int, endpoint_url: str | None, workers: int) -> None:
    """Start the state machine by hand and print the execution ARN.

    Without --batch-id, every file pending in incoming/ becomes one batch (whatever the thresholds).
    On AWS the state machine is ECOMPIPE_STATE_MACHINE_ARN; on an emulator (--endpoint-url) the
    local stack is deployed if needed, and --wait also runs the ECS tasks there (--workers at once).
    """
    from ecompipe.aws.manifests import Manifest, read_manifest
    from ecompipe.local import stack as local_aws
    from ecompipe.local.runner import LocalTaskRunner
    from ecompipe.local.starter import cleaned_up_on_exit, wait_for
    from trigger.starters import StepFunctionsStarter
    from trigger.sweep import pending_files, start_manifest

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
            owner=owner(),
            run_id=run_id,
            ledger=res.ledger,
        )
        if not outcome.started or not outcome.execution:
            raise Failure(outcome.reason)
        click.echo(outcome.execution)
        if not wait:
            return
        if cluster:
            stack.enter_context(LocalTaskRunner(settings, cluster, local_task_mode("auto", workers), workers=workers))
        with cleaned_up_on_exit(res.leases(), owner(), sfn, execution_arn=outcome.execution):
            described = wait_for(sfn, outcome.execution, timeout_seconds)
    stderr.print(f"execution {described['status']}")
    if described["status"] != "SUCCEEDED":
        raise Failure(
            f"execution {described['status']}: {described.get('error', '')} {described.get('cause', '')}".strip()
        )
