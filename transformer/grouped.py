"""A rebuild written beside other batches' on dates written per group of their cells
(ecompipe.core.cells.grouped; docs/scaling.md, "Writes per group of cells").

A batch that computed its rebuild holds, on such a date, only the leases of the groups it writes
(transformer.cell_plan.DatePlan.groups): batches writing other groups of the date hold theirs at
the same time. Under its groups it checks its rebuild against the date as it is (transformer.rebase:
no other batch can have written its groups since) and puts its key index runs and new parts, named
by no manifest yet. Only then does it take the date's swap lease, for a few requests: the rebuild
rebased onto the manifest as it is by then (other batches' groups added since), then its customers,
its manifest and the date's KPIs (transformer.cells.swap_in)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from ecompipe.aws.cell_store import part_keys
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core import cells as cell_math
from transformer import cells, rebase
from transformer.cells import Rebuilt
from transformer.groups import FenceCheck

Swap = Callable[[list[str]], AbstractContextManager[None]]  # holds the swap leases of these dates


def groups_of(rebuilt: Rebuilt) -> dict[str, set[int]]:
    """Per date of the rebuild written per group of its cells, the groups it writes; a date it
    writes every group of is left out: it holds that one whole (one lease, not GROUPS)."""
    written = {date: plan.groups() for date, plan in rebuilt.plans.items() if plan.grouped}
    return {date: groups for date, groups in written.items() if len(groups) < cell_math.GROUPS}


def write(
    bucket: Bucket, curated: CuratedStore, store: KpiStore, rebuilt: Rebuilt, intent: str, fence: FenceCheck, swap: Swap
) -> int | None:
    """Write a rebuild already rebased onto its dates under their leases: the objects it is about
    to put named at `intent` (a killed attempt's are deleted at the batch's finish:
    transformer.pieces.sweep), its key index runs and parts, then under the swap leases of its
    grouped dates its manifests, customers and KPIs. Returns the KPI items written, or None when
    another batch's write conflicts with it by then (its parts are then left to that sweep)."""
    bucket.put_json(intent, {"keys": {date: part_keys(date, parts) for date, parts in rebuilt.parts.items()}})
    fence("the curated write")
    cells.put(curated, rebuilt)
    with swap(sorted(groups_of(rebuilt))):
        now = rebase.rebased(curated, rebuilt)
        return None if now is None else cells.swap_in(curated, store, now, fence)
