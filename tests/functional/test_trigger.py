"""The trigger on moto: exactly one execution per batch of files, whatever the concurrency. Sweeps
take turns on the sweep lease; each started batch claims its files for its run (ecompipe.aws.claims),
so a later sweep never takes them while it runs; no sweep holds the commit lease."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ecompipe.aws.claims import Claims
from ecompipe.aws.lock import Lease, LeaseStore, LockHeld
from ecompipe.batch.pipeline import run_manifest
from ecompipe.core import layout
from ecompipe.local.generate import Spec, generate
from tests.support.helpers import put_files, record_manifest
from trigger import handler
from trigger.starters import StepFunctionsStarter
from trigger.sweep import pending_files, sweep

pytestmark = pytest.mark.functional
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def machine(resources, monkeypatch) -> str:
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name="ecompipe-test", definition=PASS_MACHINE, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    monkeypatch.setenv("ECOMPIPE_BUCKET", resources.settings.bucket)
    monkeypatch.setenv("ECOMPIPE_STATE_MACHINE_ARN", arn)
    return arn


def _executions(arn: str) -> list[dict]:
    import boto3

    return boto3.client("stepfunctions", region_name="us-east-1").list_executions(stateMachineArn=arn)["executions"]


def _event(*keys: str) -> dict:
    return {"Records": [{"s3": {"object": {"key": k}}} for k in keys]}


def _upload_ready_batch(res) -> list[str]:
    return put_files(res, generate(Spec(order_items=200, files=5, seed=3)))


def _leases(res, **kwargs) -> LeaseStore:
    return LeaseStore(res.bucket.s3, res.settings.bucket, timedelta(minutes=120), **kwargs)


def _claims(res) -> list:
    return Claims(_leases(res)).all()


def _nothing_held(res) -> bool:
    """No claim, no sweep lease, no commit lease."""
    leases = _leases(res)
    return not _claims(res) and leases.current() is None and leases.other(layout.SWEEP_LOCK_KEY).current() is None


def test_twenty_concurrent_invocations_start_exactly_one_execution(resources, machine) -> None:
    keys = _upload_ready_batch(resources)
    results: list[dict] = []
    barrier = threading.Barrier(20)

    def invoke() -> None:
        barrier.wait()
        results.append(handler(_event(keys[0])))

    threads = [threading.Thread(target=invoke) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results if r["started"]]
    assert len(results) == 20 and len(started) == 1
    # the others found another sweep under way, or every file claimed by the batch that started
    assert all(
        "another sweep is under way" in r["reason"]
        or f"({len(keys)} files are taken by running batches)" in r["reason"]
        for r in results
        if not r["started"]
    )
    [execution] = _executions(machine)
    assert execution["name"] == started[0]["batch_id"]
    run = resources.ledger.get(started[0]["batch_id"])  # the trigger recorded what it took
    assert (run["status"], run["files"], run["execution"]) == ("RUNNING", len(keys), execution["executionArn"])
    [claim] = _claims(resources)
    assert claim.run_id == started[0]["batch_id"] and sorted(claim.keys) == sorted(keys)
    leases = _leases(resources)
    assert leases.current() is None and leases.other(layout.SWEEP_LOCK_KEY).current() is None
    manifest = resources.bucket.get_json(layout.manifest_key(started[0]["batch_id"]))
    assert sorted(f["key"] for f in manifest["files"]) == sorted(keys)


def test_the_same_event_delivered_twice_starts_one_execution(resources, machine) -> None:
    keys = _upload_ready_batch(resources)
    first = handler(_event(keys[0]))
    while_running = handler(_event(keys[0]))
    assert first["started"] and not while_running["started"]
    assert "taken by running batches" in while_running["reason"]
    # the run ended and released its claim, but its files are still in incoming/: same batch id
    [claim] = _claims(resources)
    assert Claims(_leases(resources)).release(claim)
    after = handler(_event(keys[0]))
    assert not after["started"] and "already exists" in after["reason"]
    assert len(_executions(machine)) == 1
    assert _nothing_held(resources)  # the duplicate did not leave a claim behind


def test_a_second_drop_starts_beside_a_running_batch(resources, machine) -> None:
    """Batches no longer wait for each other to start: the files a running batch claimed are left
    alone and the next sweep starts the next batch from the rest."""
    first = handler(_event(_upload_ready_batch(resources)[0]))
    more = put_files(
        resources, {n.replace(".csv", "_b.csv"): d for n, d in generate(Spec(order_items=50, files=5, seed=4)).items()}
    )
    second = handler(_event(more[0]))
    assert first["started"] and second["started"]
    assert sorted(second["files"]) == sorted(more)
    assert {c.run_id for c in _claims(resources)} == {first["batch_id"], second["batch_id"]}
    assert len(_executions(machine)) == 2


def test_an_expired_claim_frees_its_files_for_the_next_sweep(resources, machine) -> None:
    keys = _upload_ready_batch(resources)
    clock = [datetime.now(UTC)]
    leases = _leases(resources, clock=lambda: clock[0])
    starter = StepFunctionsStarter(_sfn(), machine)
    assert sweep(resources.settings, resources.bucket, leases, starter, owner="dies").started
    assert not sweep(resources.settings, resources.bucket, leases, starter, owner="t").started
    clock[0] += timedelta(minutes=121)  # its run died without releasing the claim
    again = sweep(resources.settings, resources.bucket, leases, starter, owner="t", keys=keys, explicit=True)
    assert not again.started and "already exists" in again.reason  # the same files: the same batch id
    assert _claims(resources) == []  # the expired claim was dropped, and the refused start wrote none


def test_explicit_keys_claimed_by_a_running_batch_are_not_started_again(resources, machine) -> None:
    keys = _upload_ready_batch(resources)
    starter = StepFunctionsStarter(_sfn(), machine)
    assert sweep(resources.settings, resources.bucket, _leases(resources), starter, owner="first").started
    second = sweep(
        resources.settings, resources.bucket, _leases(resources), starter, owner="t", keys=keys[:1], explicit=True
    )
    assert not second.started and "is processing incoming/" in second.reason
    assert second.held_by is not None and second.held_by.owner == "first"


def test_below_thresholds_nothing_is_held_or_started(resources, machine) -> None:
    put_files(resources, {"orders_part1.csv": b"order_id,user_id,order_date,status\n", "products.csv": b"a\n"})
    result = handler({"source": "aws.events", "detail-type": "Scheduled Event"})
    assert not result["started"] and "1/5 order files" in result["reason"]
    assert _nothing_held(resources) and _executions(machine) == []


def test_force_after_starts_an_old_small_batch(resources, machine) -> None:
    put_files(resources, {"orders_part1.csv": b"order_id,user_id,order_date,status\n"})
    starter = StepFunctionsStarter(_sfn(), machine)
    later = datetime.now(UTC) + timedelta(minutes=31)
    result = sweep(resources.settings, resources.bucket, _leases(resources), starter, owner="t", now=later)
    assert result.started and "FORCE_AFTER" in result.reason
    assert len(_executions(machine)) == 1


def test_a_failing_start_leaves_nothing_held(resources, machine, monkeypatch) -> None:
    _upload_ready_batch(resources)
    monkeypatch.setenv("ECOMPIPE_STATE_MACHINE_ARN", machine.replace("ecompipe-test", "does-not-exist"))
    with pytest.raises(Exception, match=r"does-not-exist|StateMachineDoesNotExist"):
        handler(_event())
    assert _nothing_held(resources)


def test_an_expired_lease_is_taken_over_by_exactly_one_of_ten(resources) -> None:
    old = Lease("old-run", "dead", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, 2, tzinfo=UTC))
    resources.bucket.put_bytes(layout.LOCK_KEY, old.body())
    winners, losers = _contend(resources, 10)
    assert len(winners) == 1 and len(losers) == 9
    assert _leases(resources).current().run_id == winners[0].run_id


def test_a_live_lease_is_never_taken(resources) -> None:
    live = _leases(resources).acquire("live-run", "alive")
    winners, losers = _contend(resources, 10)
    assert winners == [] and len(losers) == 10
    assert _leases(resources).current().etag == live.etag
    assert all(e.holder is not None and e.holder.run_id == "live-run" for e in losers)


def test_release_deletes_only_our_own_lease(resources) -> None:
    clock = [datetime.now(UTC)]
    leases = _leases(resources, clock=lambda: clock[0])
    mine = leases.acquire("first", "a")
    clock[0] += timedelta(minutes=121)  # ours expired; a successor takes over
    successor = leases.acquire("second", "b")
    assert not leases.release(mine)
    assert leases.current().run_id == "second"
    assert leases.release(successor) and leases.current() is None


def test_a_file_reuploaded_during_a_run_stays_in_incoming_for_the_next_batch(resources) -> None:
    keys = _upload_ready_batch(resources)
    manifest = record_manifest(resources.bucket, keys)
    changed = "incoming/orders_part2.csv"
    again = b"order_id,user_id,order_date,status\n1,2,2025-01-01,delivered\n"
    resources.bucket.put_bytes(changed, again)
    result = run_manifest(resources, manifest)
    # the batch read and archived the upload it took; the re-upload is one of its own, left waiting
    assert result.report["skipped_files"] == []
    assert len(resources.bucket.list(f"processed/{manifest.batch_id}/")) == len(keys)
    assert [(o.key, resources.bucket.get_bytes(o.key)) for o in resources.bucket.list("incoming/")] == [
        (changed, again)
    ]
    assert [f.key for f in pending_files(resources.bucket)] == [changed]


def _contend(res, n: int) -> tuple[list[Lease], list[LockHeld]]:
    winners: list[Lease] = []
    losers: list[LockHeld] = []
    barrier = threading.Barrier(n)

    def go(i: int) -> None:
        barrier.wait()
        try:
            winners.append(_leases(res).acquire(f"run-{i}", f"contender-{i}"))
        except LockHeld as exc:
            losers.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return winners, losers


def _sfn():
    import boto3

    return boto3.client("stepfunctions", region_name="us-east-1")


class ConflictingS3:
    """The real (moto) client, except that the first `conflicts` conditional writes or deletes of
    the lease answer 409 ConditionalRequestConflict, as S3 does while another one is in flight."""

    def __init__(self, real, conflicts: int) -> None:
        self.real = real
        self.conflicts = conflicts

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def _maybe_conflict(self, operation: str) -> None:
        from botocore.exceptions import ClientError

        if self.conflicts > 0:
            self.conflicts -= 1
            raise ClientError({"Error": {"Code": "ConditionalRequestConflict", "Message": "retry"}}, operation)

    def put_object(self, **kwargs):
        self._maybe_conflict("PutObject")
        return self.real.put_object(**kwargs)

    def delete_object(self, **kwargs):
        self._maybe_conflict("DeleteObject")
        return self.real.delete_object(**kwargs)


def test_conditional_request_conflicts_are_retried(resources) -> None:
    sleeps: list[float] = []
    s3 = ConflictingS3(resources.bucket.s3, conflicts=2)
    leases = LeaseStore(s3, resources.settings.bucket, timedelta(minutes=5), sleep=sleeps.append)
    lease = leases.acquire("r1", "me")
    assert leases.current().run_id == "r1" and len(sleeps) == 2
    s3.conflicts = 1
    assert leases.release(lease) and leases.current() is None and len(sleeps) == 3


def test_a_large_drop_is_split_into_bounded_batches_with_the_same_kpis(resources, lab_dir) -> None:
    """ECOMPIPE_MAX_BATCH_MB bounds what one run holds in memory; the split changes no number."""
    from dataclasses import replace

    from ecompipe.local.starter import LocalStarter
    from tests.support.helpers import kpi_state, one_shot_kpis, read_dir

    files = read_dir(lab_dir)
    res = resources
    res.settings = replace(res.settings, max_batch_mb=2)  # the public data: 4.3 MB, so three batches
    put_files(res, files)
    leases = _leases(res)
    batches = []
    while res.bucket.list("incoming/"):
        starter = LocalStarter(res, leases)
        outcome = sweep(res.settings, res.bucket, leases, starter, owner="t")
        assert outcome.started, outcome.reason
        starter.run()
        batches.append(outcome.files)
        assert sum(res.bucket.head(k) is None for k in outcome.files) == len(outcome.files)  # archived
    assert len(batches) >= 3
    assert "incoming/products.csv" in batches[0]  # products first, so items find them
    assert sorted(k for b in batches for k in b) == sorted(f"incoming/{n}" for n in files)
    assert kpi_state(res) == one_shot_kpis(files)
