"""Issue 19: leases on order dates (ecompipe.aws.date_leases), on moto's S3 with its conditional
writes: taken in ascending order and kept across a retry, never taken while live unless the
holder's run ended, released only by their run, and fencing a date's writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecompipe.aws.date_leases import DateLeases, date_leases
from ecompipe.aws.lock import FencedOut, LeaseStore, LockHeld
from ecompipe.batch.leases import Leases
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
    assert sorted(date_leases(resources.leases())) == [("2025-06-01", ""), ("2025-06-02", ""), ("2025-06-03", "")]


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


DAY = "2025-06-01"


def test_groups_of_one_date_are_held_side_by_side_and_the_whole_date_waits_for_them(resources) -> None:
    a, b, whole = _dates(resources, "a"), _dates(resources, "b"), _dates(resources, "whole")
    a.hold_groups({DAY: {0, 3}}, NOW)
    b.hold_groups({DAY: {1}}, NOW)  # another group of the date: at the same time
    with pytest.raises(LockHeld) as held:
        _dates(resources, "c").hold_groups({DAY: {3}}, NOW)
    assert held.value.holder is not None and held.value.holder.run_id == "a"
    with pytest.raises(LockHeld, match=r"another run holds the lease on 2025-06-01 \(group [01]\)"):
        whole.hold([DAY], NOW)  # it takes the date's lease, then waits for the groups' holders
    assert whole.held() == [DAY]
    with pytest.raises(LockHeld):  # a group taken while the whole date is held gives way to it
        _dates(resources, "d").hold_groups({DAY: {2}}, NOW)
    assert not any(run == "d" for run in (lease.run_id for lease in date_leases(resources.leases()).values()))
    a.check([DAY], "the curated write")  # the groups' holders go on: fenced on their groups
    a.release()
    b.release()
    whole.hold([DAY], NOW)  # the groups gone, the retry goes on from there
    assert sorted(date_leases(resources.leases())) == [(DAY, "")]


def test_a_group_fence_checks_the_groups_held(resources) -> None:
    clock = [datetime.now(UTC)]
    mine = DateLeases(LeaseStore(**_store_args(resources, clock)), "mine", "a")
    mine.hold_groups({DAY: {1, 2}}, NOW)
    mine.check([DAY], "the curated write")
    clock[0] += timedelta(minutes=121)
    DateLeases(mine.leases, "other", "b").hold_groups({DAY: {2}}, NOW)
    with pytest.raises(FencedOut, match=r"the lease on 2025-06-01 \(group 1\) \(it expired\)"):
        mine.check([DAY], "the KPI write")
    mine.groups = {DAY: {2}}
    with pytest.raises(FencedOut, match=r"the lease on 2025-06-01 \(group 2\) \(run other\)"):
        mine.check([DAY], "the KPI write")


def test_the_swap_lease_of_a_date_is_held_by_one_run_at_a_time_and_freed_after(resources) -> None:
    a, b = _dates(resources, "a"), _dates(resources, "b")
    with a.swap([DAY, "2025-06-02"], NOW):
        assert sorted(date_leases(resources.leases())) == [(DAY, "swap"), ("2025-06-02", "swap")]
        with pytest.raises(LockHeld), b.swap([DAY], NOW):
            pass
    assert date_leases(resources.leases()) == {}
    with b.swap([DAY], NOW):
        pass


def test_groups_are_never_taken_on_top_of_whole_dates(resources) -> None:
    """Groups come before whole dates in the one order leases are taken in: a run holding a whole
    date that needs groups frees it first."""
    mine = _dates(resources, "mine")
    mine.hold(["2025-06-02"], NOW)
    mine.hold_groups({DAY: {0}}, NOW)
    assert sorted(date_leases(resources.leases())) == [(DAY, "g0")]


def test_a_lease_part_is_a_group_or_the_swap(resources) -> None:
    assert layout.date_lock_key(DAY, "g3") == "locks/dates/2025-06-01/g3.lock"
    for hostile in ("g", "../x", "g1/../../x", "swap.lock"):
        with pytest.raises(LayoutError):
            layout.date_lock_key(DAY, hostile)


def test_a_whole_date_waiting_for_groups_says_whom_it_waits_for_once(resources) -> None:
    _dates(resources, "a").hold_groups({DAY: {1}}, NOW)
    told: list = []
    with pytest.raises(LockHeld):
        _dates(resources, "whole").hold([DAY], timedelta(milliseconds=300), told.append)
    assert [lease.run_id for lease in told] == ["a"]
