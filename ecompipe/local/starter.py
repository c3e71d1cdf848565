"""The local starter: the trigger's Starter that runs a batch in process on the emulator (or any
endpoint) instead of starting Step Functions, and releases its claim and the commit lease at the
end like the state machine's Release steps do."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ecompipe.aws import clients as aws
from ecompipe.aws.claims import Claim, Claims
from ecompipe.aws.date_leases import date_leases, describe
from ecompipe.aws.lock import Lease, LeaseStore, cli_owner, owner_alive
from ecompipe.aws.manifests import read_manifest
from ecompipe.aws.objects import ObjectInfo
from ecompipe.batch.leases import Leases
from ecompipe.batch.pipeline import RunResult, commit
from ecompipe.batch.resources import Resources
from ecompipe.core import layout, statuses
from ecompipe.core.errors import EcompipeError
from ecompipe.local.runner import LocalTaskRunner
from ecompipe.local.stack import LocalStack

if TYPE_CHECKING:
    from trigger.sweep import SweepResult


class LocalStarter:
    """Starts a run by recording it; `run()` then runs it in process, after the sweep (the sweep
    lease is held only while files are claimed, never for a run)."""

    def __init__(self, res: Resources, leases: LeaseStore, now: datetime | None = None) -> None:
        self.res = res
        self.leases = leases
        self.now = now
        self.started: tuple[str, dict[str, Any]] | None = None
        self.result: RunResult | None = None

    def start(self, run_id: str, execution_input: dict[str, Any]) -> str:
        """Record the run (a rerun of the same batch id is allowed: it is idempotent)."""
        self.started = (run_id, execution_input)
        return f"local:{execution_input['batch_id']}"

    def run(self, on_wait: Callable[[Lease | None], None] | None = None) -> RunResult | None:
        """Run the started batch as the state machine does: validate without a lease, then commit
        under its date leases and the commit lease (waiting while another batch holds them:
        ecompipe.batch.commit), then release the leases and the files' claim."""
        from validator import task as validate_task

        if self.started is None:
            return None
        run_id, execution_input = self.started
        self.started = None
        batch_id = execution_input["batch_id"]
        claim = Claim(run_id, batch_id, "", (), datetime.max, execution_input["claim_etag"])
        try:
            manifest = read_manifest(self.res.bucket, batch_id)
            report = validate_task.run(self.res.settings, self.res.bucket, batch_id, self.now)
            ttl = timedelta(minutes=self.res.settings.lock_ttl_minutes)
            leases = Leases.of(self.res, run_id, cli_owner(), ttl)
            self.result = commit(self.res, manifest, report, self.now, leases=leases, on_wait=on_wait)
        finally:
            Claims(self.leases).release(claim)
        return self.result


def run_via_state_machine(
    res: Resources,
    stack: LocalStack,
    keys: Sequence[str | ObjectInfo],
    owner: str,
    runner_mode: str = "inprocess",
    timeout_seconds: float = 600,
    task_overrides: dict | None = None,
    waiting: Callable[[Lease | Claim | None], None] | None = None,
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
        LocalTaskRunner(
            res.settings, stack.cluster_arn, runner_mode, overrides=task_overrides, workers=workers, runs=set()
        ) as runner,
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
        runner.follow(execution_name(outcome.execution))
        execution = wait_for(sfn, outcome.execution, timeout_seconds)
    return execution, result_of(res, outcome.batch_id or "")


def when_lease_is_free(
    start: Callable[[], SweepResult],
    timeout_seconds: float,
    waiting: Callable[[Lease | Claim | None], None] | None = None,
) -> SweepResult:
    """Start a run, waiting while another command on this machine that still runs holds the sweep
    lease or claims the same files (two `ecompipe run` of the same files against one emulator take
    turns instead of the second failing; of different files, they run side by side). One held by
    anyone else, or by a process that is gone, is reported at once (the caller says why;
    `ecompipe status` and `unlock --force` deal with it). Gives up after `timeout_seconds`."""
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
    its run, stop what it started on Step Functions (the executions of the runs it claimed files
    for, on `state_machine_arn`, or the one execution given), and free the claims it wrote (found
    by their owner) and the commit and date leases of their runs, so nothing is left blocking the next run
    and another command's runs on the same emulator go on. A command killed with SIGKILL cannot:
    its claim and lease expire after ECOMPIPE_LOCK_TTL_MINUTES, and `ecompipe status` names them
    (docs/operations.md)."""
    try:
        yield
    except BaseException:
        with suppress(Exception):
            mine = [c for c in Claims(leases).all() if c.owner == owner]
            arns = [execution_arn] if execution_arn else []
            if state_machine_arn:
                arns += [_execution_arn(state_machine_arn, c.run_id) for c in mine]
            _stop(sfn, arns, "the command that started it ended")
            free_owner(leases, owner)
        raise


def free_owner(leases: LeaseStore, owner: str) -> list[str]:
    """Free what `owner` holds: its claims, and the commit lease and date leases it or its runs
    hold. Returns one line per thing freed."""
    claims = Claims(leases)
    mine = [c for c in claims.all() if c.owner == owner]
    runs = {c.run_id for c in mine}
    freed = []
    held = leases.current()
    if held is not None and (held.owner == owner or held.run_id in runs) and leases.release(held):
        freed.append(f"the commit lease of run {held.run_id}")
    for unit, lease in date_leases(leases).items():
        mine_too = lease.owner == owner or lease.run_id in runs
        if mine_too and leases.other(layout.date_lock_key(*unit)).release(lease):
            freed.append(f"the lease of run {lease.run_id} on {describe(unit)}")
    freed += [f"the claim of run {c.run_id} on {len(c.keys)} files" for c in mine if claims.release(c)]
    return freed


def take_over_from_the_dead(res: Resources) -> list[str]:
    """Free at once what commands on this host whose process is gone still hold (a `kill -9`):
    their claims, their runs' commit and date leases, and stop their runs' executions, which no
    task runner follows any more. Owners that live, or that cannot be told from here (another
    host, AWS), keep what they hold. Returns one line per owner taken over from."""
    leases = res.leases()
    claims = Claims(leases).all()
    held = [leases.current(), *date_leases(leases).values()]
    owners = dict.fromkeys([c.owner for c in claims] + [h.owner for h in held if h is not None])
    said = []
    for owner in (o for o in owners if owner_alive(o) is False):
        runs = [c.run_id for c in claims if c.owner == owner]
        arns = [str((res.ledger.get(r) or {}).get("execution") or "") for r in runs]
        _stop(aws.client("stepfunctions", res.settings), [a for a in arns if a.startswith("arn:")], "its command died")
        for run in runs:
            res.ledger.finished(run, statuses.FAILED, "its command's process was gone; taken over by the next command")
        freed = free_owner(leases, owner)
        if freed:
            said.append(f"{owner} is gone (its process ended): freed {', '.join(freed)}")
    return said


def _stop(sfn: Any, arns: list[str], cause: str) -> None:
    for arn in dict.fromkeys(arns):
        with suppress(Exception):  # it may have ended already
            sfn.stop_execution(executionArn=arn, cause=cause)


def _execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:aws:states:REGION:ACCOUNT:stateMachine:M -> arn:aws:states:REGION:ACCOUNT:execution:M:NAME"""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def execution_name(execution_arn: str) -> str:
    """An execution's name (a run's id) from its ARN: the inverse of _execution_arn."""
    return execution_arn.rsplit(":", 1)[-1]


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
