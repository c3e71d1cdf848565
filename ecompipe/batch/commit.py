"""A batch's commit under leases: its dates are rebuilt under per-date leases, side by side with
other batches' dates, and only the short batch-wide step (the key index, the catalogue, the
pending set) takes turns on the commit lease.

The steps, each of which may be retried (a step that cannot take a lease in time raises LockHeld
and leaves the commit where it was):

- plan: recheck the batch's held items when what its validation read changed, then plan the
  transform against the store as it is now and compute its rebuild (transformer.cells.compute:
  every read, the new parts and their partials) — no lease: reading only, beside other batches of
  the same dates;
- hold: take the leases on the plan's dates in ascending order. If the held dates' cells the plan
  read or the catalogue changed since (transformer.basis.held_unchanged) and there is no computed
  rebuild to write onto them (the catalogue changed, or a fanned-out batch), plan again under the
  leases; a new plan naming a date not held frees them all and takes the union;
- rebuild: write the computed rebuild onto the held dates as they are now (transformer.rebase),
  fenced on the date leases; when another batch's write conflicts with it, plan again and rebuild
  under the leases. For a fanned-out batch the TransformDates Map's children rebuild per group;
- finish: take the commit lease. When what the plan depends on changed since outside the held
  dates (transformer.basis.stands: another batch stored the batch's keys elsewhere, or the
  catalogue changed) or its held items were rechecked, plan again: a date not held
  frees every lease and goes back to hold (the union); a different plan (items rechecked, the
  catalogue changed, an item's date) rebuilds the held dates again here. Then the batch-wide
  writes. The archive frees every lease.

So each batch commits what it would have committed alone at the moment it holds the commit lease,
and any interleaving ends as the batches run one after another in the order they finished
(tests/functional/test_concurrent_commits.py interleaves these steps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from ecompipe.aws.cell_store import new_id
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.lock import Fence, Lease
from ecompipe.batch.leases import Leases
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.observability import logger
from transformer import basis, cells, fanout, grouped, groups, plans, rebase
from transformer import task as transform_task
from transformer.cells import Rebuilt
from transformer.groups import Batch
from transformer.plans import Plan

PLAN, HOLD, REBUILD, FINISH, DONE = "plan", "hold", "rebuild", "finish", "done"


def recheck_if_stale(res: Resources, batch_id: str, now: datetime | None = None) -> dict | None:
    """Before a batch commits: its new report when what its validation read of the shared state
    changed since (another batch committed in between), else None.

    Validation reads the pending set and the known ids without a lease, so the commit checks what
    validation recorded (validator.snapshot) at its first step and again under the commit lease,
    and rechecks what depends on them: the batch's held items and the pending set
    (validator.task.recheck)."""
    from validator import task as validate_task

    why = validate_task.why_stale(res.bucket, batch_id)
    return None if why is None else recheck(res, batch_id, why, now)


def recheck(res: Resources, batch_id: str, why: str, now: datetime | None = None) -> dict:
    """The batch's held items and the pending set rechecked (validator.task.recheck); its new report."""
    from validator import task as validate_task

    logger.info("batch %s: held items and the pending set rechecked before it commits: %s", batch_id, why)
    return validate_task.recheck(res.settings, res.bucket, batch_id, why, now)


@dataclass
class Commit:
    """One batch's commit, step by step (module docstring). `stage` is the next step to run."""

    res: Resources
    batch_id: str
    leases: Leases
    now: datetime | None = None
    bins: int = 1
    on_recheck: Callable[[dict], None] = lambda _report: None
    on_wait: Callable[[str, Lease | None], None] = lambda _what, _holder: None
    on_leased: Callable[[Lease], None] = lambda _lease: None  # the commit lease taken
    stage: str = PLAN
    plan: Plan | None = None
    need: set[str] = field(default_factory=set)  # the dates to hold: the plan's, and any held before
    written: int = 0
    summary: dict | None = None
    fanned_out: int | None = None  # how many groups the TransformDates Map had, for a fanned-out batch
    dropped: set[str] = field(default_factory=set)  # held items it resolved and wrote, then lost to a recheck
    owned: set[str] = field(default_factory=set)  # held items it resolves, found under a killed run's stamp
    categories: str = ""  # plans.categories of the catalogue its last rebuild in this process used
    checked: bool = False  # the caller checked what validation read just before (pipeline.commit)
    work: tuple[Rebuilt, str] | None = field(default=None, repr=False)  # computed at plan (and its categories)
    abandoned: int = 0  # computed rebuilds given up for another batch's conflicting write
    whole: bool = False  # it rebuilds under the leases: it holds its dates whole, not by groups

    @classmethod
    def resumed(cls, res: Resources, batch_id: str, leases: Leases, plan: Plan, **kwargs) -> Commit:
        """The commit of a fanned-out batch after plan-transform held its dates and stored `plan`."""
        kwargs.setdefault("fanned_out", len(plan.groups))
        return cls(res, batch_id, leases, stage=REBUILD, plan=plan, need=set(plan.dates), **kwargs)

    def run(self, until: str = DONE) -> Commit:
        while self.stage != until:
            self.step()
        return self

    def step(self) -> None:
        {PLAN: self._plan, HOLD: self._hold, REBUILD: self._rebuild, FINISH: self._finish}[self.stage]()

    def _plan(self) -> None:
        if not self.checked:  # (else the finish checks it again under the commit lease, as always)
            self._recheck()
        self.plan = plans.make(self.res.bucket, self.batch_id, self.bins)
        self.need |= set(self.plan.dates)
        if self.bins == 1:  # (a fanned-out batch's groups are rebuilt by their own tasks)
            self.work = plans.compute(self.res.bucket, self.batch_id, self.plan, sorted(self.need), self._dropped())
        self.stage = HOLD

    def _hold(self) -> None:
        assert self.plan is not None
        while True:
            by_groups = grouped.groups_of(self.work[0]) if self.work is not None and not self.whole else {}
            wait = lambda h: self.on_wait("date", h)  # noqa: E731
            self.leases.dates.hold_groups(by_groups, self.leases.patience, wait)
            self.leases.dates.hold(sorted(self.need - set(by_groups)), self.leases.patience, wait)
            curated = CuratedStore(self.res.bucket)
            if basis.held_unchanged(curated, self.plan.basis, self.need):
                break
            if self.work is not None and basis.same_catalogue_now(curated, self.plan.basis):
                break  # its rebuild is written onto the dates as they are now, unless that conflicts
            logger.info("batch %s: the dates it holds changed since its plan: planned again", self.batch_id)
            self.work = None
            self.plan = plans.make(self.res.bucket, self.batch_id, self.bins)  # the held dates stay as they are
            if set(self.plan.dates) <= self.need and not by_groups:
                break
            self._widen()
        self.stage = REBUILD

    def _rebuild(self) -> None:
        assert self.plan is not None
        fence = self._dates_fence()
        work, self.work = self.work, None
        if self.plan.plan_id:
            self.written = fanout.rebuild_undone(
                self.res.bucket, self.res.kpis, self.batch_id, self.leases.run_id, self.plan, fence
            )
        elif work is None or not self._written(work, fence):
            if self.leases.dates.groups:  # (a rebuild under the leases holds its dates whole)
                self._take_whole(self.plan)
                return
            again = plans.make(self.res.bucket, self.batch_id, self.bins) if work is not None else self.plan
            if not set(again.dates) <= self.need:  # (the store moved under the computed rebuild)
                self.plan = again
                self._widen()
                self.stage = HOLD
                return
            self.plan = again
            self._rebuild_here(self.plan, fence)
        self.stage = FINISH

    def _written(self, work: tuple[Rebuilt, str], fence: Callable[[str], None]) -> bool:
        """Write the rebuild computed at plan onto the held dates as they are now (on dates held by
        groups: transformer.grouped); False when it was computed for other dates or another
        batch's write conflicts with it (transformer.rebase)."""
        rebuilt, used = work
        curated = CuratedStore(self.res.bucket)
        onto_now = rebase.rebased(curated, rebuilt) if rebuilt.dates == sorted(self.need) else None
        written = None
        if onto_now is not None and self.leases.dates.groups:
            intent = layout.transform_group_key(self.batch_id, self.leases.run_id, new_id(), 0, "piece.intent")
            swap = lambda dates: self.leases.dates.swap(dates, self.leases.patience)  # noqa: E731
            written = grouped.write(self.res.bucket, curated, self.res.kpis, onto_now, intent, fence, swap)
        elif onto_now is not None:
            written = cells.write(curated, self.res.kpis, onto_now, fence)
        if written is None:
            logger.info("batch %s: its dates changed in a way its computed rebuild cannot take: rebuilt", self.batch_id)
            self.abandoned += 1
            return False
        self.written, self.categories = written, used
        return True

    def _take_whole(self, plan: Plan) -> None:
        """Free the groups it holds and hold its dates whole, to rebuild them under their leases."""
        self.plan, self.whole, self.work = plan, True, None
        self._widen()
        self.stage = HOLD

    def _finish(self) -> None:
        assert self.plan is not None
        commit = self.leases.commit
        self.on_leased(
            commit.acquire_waiting(self.leases.run_id, self.leases.dates.owner, self.leases.patience, self._waiting)
        )
        why = self._recheck()
        again = self.plan
        if why is not None or not self._stands():
            again = plans.make(self.res.bucket, self.batch_id)
            if not set(again.dates) <= self.need:
                logger.info("batch %s: its plan now names dates it does not hold: it takes them all", self.batch_id)
                self.leases.release_commit()
                self.plan = again
                self._widen()
                self.stage = HOLD
                return
        if self._owned_now() or why is not None or (again is not self.plan and not self._same_rows(again)):
            if self.leases.dates.groups:
                self.leases.release_commit()
                self._take_whole(again)
                return
            logger.info("batch %s: rebuilt again under the commit lease (its plan changed)", self.batch_id)
            self._rebuild_here(again, self._both_fences())
        self.plan = again
        fence = Fence(commit, self.leases.run_id).check
        self.summary = transform_task.finish(
            self.res.bucket, self.batch_id, self.plan, self.written, fence, self.fanned_out
        )
        self.stage = DONE

    def _rebuild_here(self, plan: Plan, fence: Callable[[str], None]) -> None:
        """Every held date rebuilt in this process with `plan`'s rows (items it lost dropped)."""
        owned = pd.Index(sorted(self.owned), dtype="str")
        self.written, self.categories = plans.rebuild(
            self.res.bucket, self.res.kpis, self.batch_id, plan, sorted(self.need), fence, self._dropped(), owned
        )

    def _owned_now(self) -> bool:
        """Whether held items it resolves are stored under another stamp, not yet taken as its own:
        a killed run's rows (transformer.basis.stored_by_others); they join `owned`."""
        resolved = groups.resolved_keys(self.res.bucket, self.batch_id)
        found = basis.stored_by_others(CuratedStore(self.res.bucket), self.batch_id, resolved) - self.owned
        self.owned |= found
        return bool(found)

    def _dropped(self) -> pd.Index:
        return pd.Index(sorted(self.dropped), dtype="str")

    def _stands(self) -> bool:
        """Whether the plan still holds outside the held dates (transformer.basis.stands)."""
        assert self.plan is not None
        batch = self.plan.batch or Batch.load(self.res.bucket, self.batch_id)
        return basis.stands(CuratedStore(self.res.bucket), batch, self.plan.basis, self.need)

    def _same_rows(self, again: Plan) -> bool:
        """Whether the rebuild stands for the batch's plan now: the same items at the same dates,
        and the same categories (the catalogue unchanged, or changed in nothing the KPIs take)."""
        assert self.plan is not None and again.batch is not None
        if self.plan.items_at != again.items_at:
            return False
        if basis.same_catalogue(self.plan.basis, again.basis):
            return True
        return bool(self.categories) and self.categories == plans.categories_now(self.res.bucket, again.batch)

    def _widen(self) -> None:
        """Free every date lease and hold the union of what was held and what the plan names, from
        the lowest date up (taking more dates on top of held ones could deadlock)."""
        assert self.plan is not None
        self.leases.dates.release()
        self.need |= set(self.plan.dates)

    def _recheck(self) -> str | None:
        """Why the batch's held items were rechecked now, or None when what its validation read is
        as it was. Items it resolved before and no longer does join `dropped`."""
        from validator import task as validate_task

        why = validate_task.why_stale(self.res.bucket, self.batch_id)
        if why is None:
            return None
        resolved = self._resolved()
        self.on_recheck(recheck(self.res, self.batch_id, why, self.now))
        self.dropped |= resolved - self._resolved()
        return why

    def _resolved(self) -> set[str]:
        """The held items the batch resolves as staged now (what its rows hold besides its own)."""
        return set(groups.resolved_keys(self.res.bucket, self.batch_id))

    def _dates_fence(self) -> Callable[[str], None]:
        dates = sorted(self.need)
        return lambda step: self.leases.dates.check(dates, step)

    def _both_fences(self) -> Callable[[str], None]:
        dates_fence, commit_fence = self._dates_fence(), Fence(self.leases.commit, self.leases.run_id).check

        def check(step: str) -> None:
            dates_fence(step)
            commit_fence(step)

        return check

    def _waiting(self, holder: Lease | None) -> None:
        self.on_wait("commit", holder)
