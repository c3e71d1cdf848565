"""Where the in-memory validate+transform stages of `bench/run.py` (bench/measure.py's `ecompipe`
kind) spend their time: wall, user and system CPU and RSS after each step, in one process, so the
sizes can be compared step by step (which step grows faster than the rows).

    python bench/stages.py --size 1M
    python bench/stages.py --size 10M
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import inputs  # noqa: E402
from bench.run import dataset  # noqa: E402


class Clock:
    """Prints each step's wall, user and system seconds since the last, and the RSS after it."""

    def __init__(self) -> None:
        self.last = (time.perf_counter(), os.times())

    def mark(self, step: str) -> None:
        now, times = time.perf_counter(), os.times()
        wall, before = now - self.last[0], self.last[1]
        rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        user, system = times.user - before.user, times.system - before.system
        print(f"{step:28s} wall {wall:6.2f}  user {user:6.2f}  sys {system:5.2f}  rss {rss:6.0f} MiB", flush=True)
        self.last = (now, times)


def timed(clock: Clock, module: Any, name: str, step: str) -> None:
    """Mark `step` each time module.name returns (the steps between two marks add up to the whole)."""
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        clock.mark(step)
        return out

    setattr(module, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M")
    ap.add_argument("--bad", type=float, default=0.01, help="share of bad rows")
    args = ap.parse_args()

    from ecompipe.core.memory import keep_freed_memory

    keep_freed_memory()  # as a task does (bench/measure.py)
    from ecompipe.aws.curated import CuratedIndex
    from transformer import curate, kpis
    from validator import batch, intake, outcome, shards, spill
    from validator.batch import Known, validate_batch

    clock = Clock()
    steps = [
        (intake, "parsed_files", "parse (shards spilled)"),
        (batch, "_split", "shards"),
        (batch, "_referencing", "row rules, references"),
        (spill.SpilledRows, "kept", "a kind's staged rows"),  # (a batch of several shards)
        (shards.Rows, "kept", "a kind's staged rows"),  # (a batch of one)
        (outcome, "finished", "failures, pending, report"),
    ]
    for module, name, step in steps:
        timed(clock, module, name, step)
    directory = dataset(args.size, args.bad, "seed")
    clock.mark("make the data")
    staged = validate_batch("bench", inputs(directory), Known(), None, now=datetime.now(UTC)).staged
    clock.mark("the rest of validate_batch")
    empty = curate.pd.Index([], dtype="str")
    curate.affected_dates(staged["orders"], staged["order_items"], CuratedIndex.empty(), empty)
    clock.mark("affected_dates")
    orders, items = curate.rebuild(
        staged["orders"].iloc[0:0], staged["order_items"].iloc[0:0], staged["orders"], staged["order_items"]
    )
    clock.mark("rebuild")
    order_table, category_table = kpis.kpi_tables(orders, items, staged["products"])
    clock.mark("both KPI tables")
    kpis.order_records(order_table), kpis.category_records(category_table)
    clock.mark("their records")


if __name__ == "__main__":
    main()
