"""The local starter: the trigger's Starter that runs a batch in process on the emulator (or any
endpoint) instead of starting Step Functions, and releases the lease at the end like the state
machine's Release step does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecompipe.aws import clients as aws
from ecompipe.aws.lock import Fence, Lease, LeaseStore, owner_alive
from ecompipe.aws.manifests import read_manifest
from ecompipe.batch.pipeline import Resources, RunResult, run_manifest
from ecompipe.core import layout
from ecompipe.core.errors import EcompipeError
from ecompipe.local.runner import LocalTaskRunner
from ecompipe.local.stack import LocalStack

if TYPE_CHECKING:
    from trigger.sweep import SweepResult


class LocalStarter:
    def __init__(self, res: Resources, leases: LeaseStore, now: datetime | None = None) -> None:
        self.res = res
        self.leases = leases
        self.now = now
        self.result: RunResult | None = None

    def start(self, run_id: str, execution_input: dict[str, Any]) -> str:
        """Run the batch to the end (a rerun of the same batch id is allowed: it is idempotent)."""
        lease = Lease(run_id, "local", datetime.min, datetime.min, execution_input["lock_etag"])
        batch_id = execution_input["batch_id"]
        try:
            manifest = read_manifest(self.res.bucket, batch_id)
            self.result = run_manifest(self.res, manifest, self.now, Fence(self.leases, run_id).check)
        finally:
            self.leases.release(lease)
        return f"local:{batch_id}"


def run_via_state_machine(
    res: Resources,
    stack: LocalStack,
    keys: list[str],
    owner: str,
    runner_mode: str = "inprocess",
    timeout_seconds: float = 600,
    task_overrides: dict | None = None,
    waiting: Callable[[Lease], None] | None = None,
    workers: int = 1,
) -> tuple[dict, RunResult | None]:
    """upload -> trigger -> the real state machine on the emulator, its ECS tasks run by the local
    task runner (`workers` at once). Returns the execution description and (when it got that far)
    the run's result."""
    from trigger.starters import StepFunctionsStarter
    from trigger.sweep import sweep

    sfn = aws.client("stepfunctions", res.settings)
    leases = res.leases()
    with (
        cleaned_up_on_exit(leases, owner, sfn, stack.state_machine_arn),
        LocalTaskRunner(res.settings, stack.cluster_arn, mode=runner_mode, overrides=task_overrides, workers=workers),
    ):
        outcome = when_lease_is_free(
            lambda: sweep(
                res.settings,
                res.bucket,
                leases,
                StepFunctionsStarter(sfn, stack.state_machine_arn),
                owner=owner,
                keys=keys,
                explicit=True,
                ledger=res.ledger,
            ),
            timeout_seconds,
            waiting,
        )
        if not outcome.started or outcome.execution is None:
            raise EcompipeError(f"the batch did not start: {outcome.reason}")
        execution = wait_for(sfn, outcome.execution, timeout_seconds)
    return execution, result_of(res, outcome.batch_id or "")


def when_lease_is_free(
    start: Callable[[], SweepResult],
    timeout_seconds: float,
    waiting: Callable[[Lease], None] | None = None,
) -> SweepResult:
    """Start a run, waiting while the lease is held by another command on this machine that still
    runs (two `ecompipe run` against one emulator take turns instead of the second failing). A
    lease held by anyone else, or by a process that is gone, is reported at once (the caller says
    why; `ecompipe status` and `unlock --force` deal with it). Gives up after `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    told = False
    while True:
        outcome = start()
        holder = outcome.held_by
        if holder is None or not owner_alive(holder.owner) or time.monotonic() > deadline:
            return outcome
        if not told and waiting is not None:
            waiting(holder)
            told = True
        time.sleep(0.25)


@contextmanager
def cleaned_up_on_exit(
    leases: LeaseStore, owner: str, sfn: Any = None, state_machine_arn: str | None = None, execution_arn: str = ""
) -> Iterator[None]:
    """If the command ends early (an error, Ctrl-C, SIGTERM) at any point of starting or following
    its run, stop what it started on Step Functions (every running execution of its own state
    machine, or the one execution given) and free the lease it holds, found by its owner, so
    nothing is left blocking the next run. A command killed with SIGKILL cannot: its lease expires
    after ECOMPIPE_LOCK_TTL_MINUTES, and `ecompipe status` names it (docs/operations.md)."""
    try:
        yield
    except BaseException:
        with suppress(Exception):
            running = [execution_arn] if execution_arn else []
            if state_machine_arn:
                listed = sfn.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")
                running += [x["executionArn"] for x in listed["executions"]]
            for arn in running:
                sfn.stop_execution(executionArn=arn, cause="the command that started it ended")
        with suppress(Exception):
            held = leases.current()
            if held is not None and held.owner == owner:
                leases.release(held)
        raise


def wait_for(sfn: Any, execution_arn: str, timeout_seconds: float) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise EcompipeError(f"execution {execution_arn} still running after {timeout_seconds:.0f} s")
        time.sleep(0.1)


def result_of(res: Resources, batch_id: str) -> RunResult | None:
    """What a finished run left in S3: its validation report and transform summary."""
    report = res.bucket.get_json_or_none(layout.report_key(batch_id))
    if report is None:
        return None
    return RunResult(batch_id, report, res.bucket.get_json_or_none(layout.transform_report_key(batch_id)))
