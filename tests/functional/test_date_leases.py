"""Issue 19: leases on order dates (ecompipe.aws.date_leases), on moto's S3 with its conditional
writes: taken in ascending order and kept across a retry, never taken while live unless the
holder's run ended, released only by their run, and fencing a date's writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecompipe.aws.date_leases import DateLeases, date_leases
from ecompipe.aws.lock import FencedOut, LeaseStore, LockHeld
from ecompipe.batch.commit import Leases
from ecompipe.core import layout, statuses
from ecompipe.core.errors import LayoutError

pytestmark = pytest.mark.functional
NOW = timedelta(0)


def _dates(resources, run_id: str, **kwargs) -> DateLeases:
    return DateLeases(resources.leases(), run_id, f"test:{run_id}", **kwargs)


def test_dates_are_taken_in_ascending_order_and_kept_when_one_is_held(resources) -> None:
    other = _dates(resources, "other")
    other.hold(["2025-06-02"], NOW)
    mine = _dates(resources, "mine")
    with pytest.raises(LockHeld) as held:
        mine.hold(["2025-06-03", "2025-06-01", "2025-06-02"], NOW)
    assert held.value.holder is not None and held.value.holder.run_id == "other"
    assert mine.held() == ["2025-06-01"]  # the one below the held date; none above it
    other.release()
    mine.hold(["2025-06-03", "2025-06-01", "2025-06-02"], NOW)  # the retry goes on from there
    assert mine.held() == ["2025-06-01", "2025-06-02", "2025-06-03"]
    assert sorted(date_leases(resources.leases())) == ["2025-06-01", "2025-06-02", "2025-06-03"]


def test_a_live_date_lease_is_taken_over_only_when_its_run_ended(resources) -> None:
    _dates(resources, "killed").hold(["2025-06-01"], NOW)
    leases = Leases.of(resources, "next", "test:next", NOW)
    with pytest.raises(LockHeld):
        leases.dates.hold(["2025-06-01"], NOW)
    resources.ledger.taken("killed", "batch-killed", 1, "test:killed")
    with pytest.raises(LockHeld):  # running, as far as the ledger knows
        leases.dates.hold(["2025-06-01"], NOW)
    resources.ledger.finished("killed", statuses.FAILED, "killed hard", stage="transform")
    leases.dates.hold(["2025-06-01"], NOW)  # the ledger says it ended: not after the TTL, now
    assert leases.dates.held() == ["2025-06-01"]


def test_release_frees_only_the_runs_own_dates(resources) -> None:
    clock = [datetime.now(UTC)]
    first = DateLeases(LeaseStore(**_store_args(resources, clock)), "first", "a")
    first.hold(["2025-06-01", "2025-06-02"], NOW)
    clock[0] += timedelta(minutes=121)  # its leases expired; another run takes one of the dates
    second = DateLeases(first.leases, "second", "b")
    second.hold(["2025-06-02"], NOW)
    with pytest.raises(FencedOut, match="run second"):  # its lease's ETag changed: read, and refused
        first.check(["2025-06-02"], "the KPI write")
    assert first.release() == ["2025-06-01"]
    assert second.held() == ["2025-06-02"]


def test_writes_are_fenced_on_each_date(resources) -> None:
    mine = _dates(resources, "mine")
    mine.hold(["2025-06-01"], NOW)
    mine.check(["2025-06-01"], "the curated write")
    with pytest.raises(FencedOut, match=r"2025-06-02 \(nobody\); stopped before the KPI write"):
        mine.check(["2025-06-01", "2025-06-02"], "the KPI write")
    _dates(resources, "other").hold(["2025-06-02"], NOW)
    with pytest.raises(FencedOut, match="run other"):
        mine.check(["2025-06-02"], "the curated write")


def test_a_date_lease_key_is_a_date_and_nothing_else() -> None:
    assert layout.date_lock_key("2025-06-01") == "locks/dates/2025-06-01.lock"
    for hostile in ("../pipeline", "2025-06-01/../../x", "", "2025-6-1"):
        with pytest.raises(LayoutError):
            layout.date_lock_key(hostile)


def _store_args(resources, clock: list[datetime]) -> dict:
    leases = resources.leases()
    return {"s3": leases.s3, "bucket": leases.bucket, "ttl": leases.ttl, "clock": lambda: clock[0]}


def test_a_process_that_did_not_take_the_dates_reads_each_once_then_lists(resources) -> None:
    """A TransformDates child fences on leases plan-transform took: its first check reads each
    date's lease, a later one lists them and reads only a lease whose ETag changed."""
    dates = ["2025-06-01", "2025-06-02", "2025-06-03"]
    planner = _dates(resources, "run")
    planner.hold(dates, NOW)
    child = _dates(resources, "run")  # the same run, another process: it took nothing
    calls: list[str] = []
    child.leases.s3.meta.events.register("before-call.s3", lambda event_name, **_: calls.append(event_name))
    child.check(dates, "the curated write")
    assert calls.count("before-call.s3.GetObject") == 3
    calls.clear()
    child.check(dates, "the KPI write")
    assert calls == ["before-call.s3.ListObjectsV2"]
    planner.release()
    planner.hold(dates[1:2], NOW)  # taken again by the run: a new ETag, read again
    calls.clear()
    child.check(dates[1:2], "the KPI write")
    assert calls == ["before-call.s3.ListObjectsV2", "before-call.s3.GetObject"]
    with pytest.raises(FencedOut, match="2025-06-01 \\(nobody\\)"):  # freed: refused after its read
        child.check(dates, "the KPI write")
