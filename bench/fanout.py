"""A batch fanned out over N worker processes against one run in one task, on the emulator's S3,
through the real tasks: `parse-file` per file, `validate-shard` per shard (a batch of several),
then `validate` merging them; then `plan-transform`, `transform-group` per group (of dates, or
piece of a heavy date's cells) and `transform` to finish. With 1 worker, `validate` and
`transform` do everything. Prints one JSON line per worker count and checks that every count gives
the same report, staged rows (in batch order: a batch validated by shard leaves them shard by
shard), order and category KPIs, and each count's speed-up over the first with two ceilings: the
first's time over the steps that stay serial, and over the least time 2 cores allow for the CPU
the run spent (its tasks' and the emulator's). Each step says its wall time and the CPU its tasks
and the emulator spent in it.

    python bench/fanout.py --size 10M --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import dataset  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

    from ecompipe.batch.resources import Resources

T = TypeVar("T")


def _resources(settings_json: str) -> Resources:
    """A task's start, in its own fresh process: the memory setting `ecompipe task` applies, and
    its clients."""

    from ecompipe.batch.resources import Resources
    from ecompipe.core.memory import keep_freed_memory
    from ecompipe.core.settings import Settings

    keep_freed_memory()
    return Resources.from_settings(Settings(**json.loads(settings_json)))


def _parse(settings_json: str, batch_id: str, keys: list[str]) -> None:
    """One worker: the parse-file task for each of its files."""
    from validator import task as validate_task

    res = _resources(settings_json)
    for key in keys:
        validate_task.parse_one(res.settings, res.bucket, batch_id, key)


def _shards(settings_json: str, batch_id: str, shards: list[int]) -> None:
    """One worker: the validate-shard task for each of its shards."""
    from validator import task as validate_task

    res = _resources(settings_json)
    for shard in shards:
        validate_task.validate_shard(res.settings, res.bucket, batch_id, shard)


def _validate(settings_json: str, batch_id: str) -> dict:
    """The validate task (from the parts there are): its report."""
    from validator import task as validate_task

    res = _resources(settings_json)
    return validate_task.run(res.settings, res.bucket, batch_id)


def _plan(settings_json: str, batch_id: str, run_id: str, bins: int) -> dict:
    """The plan-transform task."""
    from transformer import fanout

    return fanout.plan_groups(_resources(settings_json).bucket, batch_id, run_id, bins)


def _groups(settings_json: str, batch_id: str, run_id: str, groups: list[int]) -> None:
    """One worker: the transform-group task for each of its groups."""
    from transformer import fanout

    res = _resources(settings_json)
    for group in groups:
        fanout.transform_group(res.bucket, res.kpis, batch_id, run_id, group, lambda _step: None)


def _transform(settings_json: str, batch_id: str, run_id: str | None) -> dict:
    """The transform task (the groups no child finished, then the batch-wide steps): its summary."""
    from transformer import task as transform_task

    res = _resources(settings_json)
    return transform_task.run(res.bucket, res.kpis, batch_id, run_id=run_id)


def in_batch_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Staged rows by file and line (a batch validated by shard stages them shard by shard)."""
    return rows.sort_values(["source_file", "source_line"], kind="stable").reset_index(drop=True)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and of its children that ended (the worker pools)."""
    return sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


class Steps:
    """Each step's wall time, the CPU seconds the tasks spent in it (this process and its worker
    pools) and those of the emulator serving them."""

    def __init__(self, emulator_pid: int) -> None:
        self.emulator_pid = emulator_pid
        self.seen: dict[str, dict[str, float]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        wall, tasks_cpu, emulator_cpu = time.perf_counter(), own_cpu(), cpu_of(self.emulator_pid)
        yield
        self.seen[name] = {
            "s": round(time.perf_counter() - wall, 2),
            "tasks_cpu_s": round(own_cpu() - tasks_cpu, 2),
            "emulator_cpu_s": round(cpu_of(self.emulator_pid) - emulator_cpu, 2),
        }

    def summary(self, parallel: set[str]) -> dict:
        """The steps, the totals, and the least wall time 2 cores allow for this CPU (the tasks' and
        the emulator's, if nothing waited on anything); `serial_s`: the steps one task runs while the
        other workers wait (with 1 worker, everything)."""
        total = {k: round(sum(s[k] for s in self.seen.values()), 2) for k in ("s", "tasks_cpu_s", "emulator_cpu_s")}
        return {
            "steps": self.seen,
            "total_s": total["s"],
            "serial_s": round(sum(s["s"] for name, s in self.seen.items() if name not in parallel), 2),
            "tasks_cpu_s": total["tasks_cpu_s"],
            "emulator_cpu_s": total["emulator_cpu_s"],
            "bound_2_cores_s": round((total["tasks_cpu_s"] + total["emulator_cpu_s"]) / 2, 2),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--days", type=int, default=90, help="order dates the data spans (1: a shop's day, in pieces)")
    ap.add_argument("--bins", type=int, default=0, help="groups of a fanned-out transform (default: as plan-transform)")
    args = ap.parse_args()

    from pandas.testing import assert_frame_equal

    # every task starts as a fresh interpreter, as tasks in containers of their own do: the serial
    # steps too, so no run reuses the memory an earlier run of this process faulted in and kept
    # (the first of `--workers 1,2,1,2` was 10-14 s slower than the others when they ran here), and
    # workers forked from this process would share its pages, which its writes would copy
    workers = multiprocessing.get_context("spawn")

    def in_task(fn: Callable[..., T], *args: object) -> T:
        with ProcessPoolExecutor(1, mp_context=workers) as task:
            return task.submit(fn, *args).result()

    from ecompipe.aws import staged as staged_rows
    from ecompipe.aws.manifests import Manifest, write_manifest
    from ecompipe.batch import tasks
    from ecompipe.batch.pipeline import upload
    from ecompipe.batch.resources import Resources
    from ecompipe.core import layout
    from ecompipe.core.settings import Settings
    from ecompipe.local.emulator import EmulatorProcess

    directory = dataset(args.size, 0.01, "seed", args.days)
    files = sorted(directory.glob("*.csv"))
    outcomes = []
    for n in (int(w) for w in args.workers.split(",")):
        emulator = EmulatorProcess()
        with emulator as url:
            settings = Settings(endpoint_url=url, bucket="ecompipe-fanout", max_file_mb=0)
            res = Resources.from_settings(settings)
            res.init()
            uploaded = upload(res.bucket, files)
            keys = [info.key for info in uploaded]
            manifest = Manifest.for_files(uploaded)
            write_manifest(res.bucket, manifest)
            as_json = json.dumps({"endpoint_url": url, "bucket": settings.bucket, "max_file_mb": 0})
            steps = Steps(emulator.pid or 0)
            if n > 1:
                shares = [keys[i::n] for i in range(n)]
                with steps.step("parse-file"), ProcessPoolExecutor(n, mp_context=workers) as pool:
                    list(pool.map(_parse, [as_json] * n, [manifest.batch_id] * n, shares))
                count = manifest.shards()
                if count > 1:  # as the ValidateShards Map runs them
                    by_worker = [list(range(count))[i::n] for i in range(n)]
                    with steps.step("validate-shards"), ProcessPoolExecutor(n, mp_context=workers) as pool:
                        list(pool.map(_shards, [as_json] * n, [manifest.batch_id] * n, by_worker))
            with steps.step("validate"):
                report = in_task(_validate, as_json, manifest.batch_id)
            run_id = None
            if n > 1:  # as `ecompipe task plan-transform` splits it
                run_id = f"{manifest.batch_id}-fan"
                bins = args.bins or tasks.transform_bins(settings, manifest)
                with steps.step("plan"):
                    planned = in_task(_plan, as_json, manifest.batch_id, run_id, bins)
                shares = [list(range(planned["groups"]))[i::n] for i in range(n)]
                with steps.step("groups"), ProcessPoolExecutor(n, mp_context=workers) as pool:
                    list(pool.map(_groups, [as_json] * n, [manifest.batch_id] * n, [run_id] * n, shares))
            with steps.step("transform"):
                summary = in_task(_transform, as_json, manifest.batch_id, run_id)
            staged = {k: in_batch_order(staged_rows.read(res.bucket, manifest.batch_id, k)) for k in layout.KINDS}
            report.pop("generated_at")
            report.pop("fan_out", None)  # says who parsed each file: differs by design
            for named in ("batch_id", "rejected_prefix"):  # (the batch's id: its uploads' versions)
                report.pop(named, None)
            outcome = {
                "workers": n,
                **steps.summary(parallel={"parse-file", "validate-shards", "groups"}),
                "kpi_items": summary["kpi_items_written"],
            }
            kpis = (sorted(res.kpis.order_kpis(), key=str), sorted(res.kpis.category_kpis(), key=str))
            outcomes.append((outcome, report, staged, kpis))
            print(json.dumps(outcome), flush=True)
    first = outcomes[0]
    for other in outcomes[1:]:
        differ = sorted(k for k in {*first[1], *other[1]} if first[1].get(k) != other[1].get(k))
        assert not differ, f"reports differ in {differ}"
        for kind, frame in first[2].items():  # the values (Parquet bytes differ with the chunking)
            assert_frame_equal(other[2][kind], frame)
        assert other[3] == first[3], "KPIs differ"
    one = first[0]["total_s"]
    ratios = [
        {
            "workers": o["workers"],
            "speed_up": round(one / o["total_s"], 3),
            "ceiling_serial": round(one / o["serial_s"], 3),
            "serial_share": round(o["serial_s"] / one, 3),
            "ceiling_cpu": round(one / o["bound_2_cores_s"], 3),
        }
        for o, *_ in outcomes[1:]
    ]  # one per run after the first (a count given twice is run twice). ceiling_serial: the
    # speed-up if every parallel step took no time at all; serial_share: the steps that run in one
    # task, a share of the first run's time (issue 39: <= 25 % at 10M); ceiling_cpu: if the run's CPU (its
    # tasks' and the emulator's) were spread over 2 cores with nothing waiting
    print(json.dumps({"same_report_and_kpis": True, "size": args.size, "against_the_first_run": ratios}))


if __name__ == "__main__":
    main()
