"""A batch fanned out over N worker processes against one run in one task, on the emulator's S3,
through the real tasks: `parse-file` per file, then `validate` from the parts; then
`plan-transform`, `transform-group` per group of dates and `transform` to finish. With 1 worker,
`validate` and `transform` do everything. Prints one JSON line per worker count and checks that
every count gives the same report, staged rows, order and category KPIs, and each count's speed-up
over the first and its ceiling (the first's time over the steps that stay serial).

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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import dataset  # noqa: E402


def _parse(settings_json: str, batch_id: str, keys: list[str]) -> None:
    """One worker: the parse-file task for each of its files."""
    from ecompipe.batch.resources import Resources
    from ecompipe.core.memory import keep_freed_memory
    from ecompipe.core.settings import Settings
    from validator import task as validate_task

    keep_freed_memory()  # as `ecompipe task` does
    res = Resources.from_settings(Settings(**json.loads(settings_json)))
    for key in keys:
        validate_task.parse_one(res.settings, res.bucket, batch_id, key)


def _groups(settings_json: str, batch_id: str, run_id: str, groups: list[int]) -> None:
    """One worker: the transform-group task for each of its groups."""
    from ecompipe.batch.resources import Resources
    from ecompipe.core.memory import keep_freed_memory
    from ecompipe.core.settings import Settings
    from transformer import fanout

    keep_freed_memory()
    res = Resources.from_settings(Settings(**json.loads(settings_json)))
    for group in groups:
        fanout.transform_group(res.bucket, res.kpis, batch_id, run_id, group, lambda _step: None)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument(
        "--bins", type=int, default=0, help="groups of dates of a fanned-out transform (default: as plan-transform)"
    )
    args = ap.parse_args()

    from pandas.testing import assert_frame_equal

    from ecompipe.core.memory import keep_freed_memory

    keep_freed_memory()  # as `ecompipe task` does (the serial steps run in this process)
    # workers start as fresh interpreters, as tasks in containers of their own do: forked from this
    # process they would share its pages, and its writes would copy them while they run
    workers = multiprocessing.get_context("spawn")

    from ecompipe.aws import transient
    from ecompipe.aws.manifests import Manifest, write_manifest
    from ecompipe.batch import tasks
    from ecompipe.batch.pipeline import upload
    from ecompipe.batch.resources import Resources
    from ecompipe.core import layout
    from ecompipe.core.settings import Settings
    from ecompipe.local.emulator import EmulatorProcess
    from transformer import fanout
    from transformer import task as transform_task
    from validator import task as validate_task

    directory = dataset(args.size, 0.01, "seed")
    files = sorted(directory.glob("*.csv"))
    outcomes = []
    for n in (int(w) for w in args.workers.split(",")):
        emulator = EmulatorProcess()
        with emulator as url:
            settings = Settings(endpoint_url=url, bucket="ecompipe-fanout", max_file_mb=0)
            res = Resources.from_settings(settings)
            res.init()
            keys = upload(res.bucket, files)
            manifest = Manifest.for_files([res.bucket.head(k) for k in keys])  # type: ignore[misc]
            write_manifest(res.bucket, manifest)
            started = time.perf_counter()
            cpu_before, emulator_before = own_cpu(), cpu_of(emulator.pid or 0)
            as_json = json.dumps({"endpoint_url": url, "bucket": settings.bucket, "max_file_mb": 0})
            if n > 1:
                shares = [keys[i::n] for i in range(n)]
                with ProcessPoolExecutor(n, mp_context=workers) as pool:
                    list(pool.map(_parse, [as_json] * n, [manifest.batch_id] * n, shares))
            parsed = time.perf_counter()
            report = validate_task.run(replace(settings), res.bucket, manifest.batch_id)
            validated = time.perf_counter()
            run_id, plan_s = None, 0.0
            if n > 1:  # as `ecompipe task plan-transform` splits it
                run_id = f"{manifest.batch_id}-fan"
                bins = args.bins or tasks.transform_bins(settings, manifest)
                planned = fanout.plan_groups(res.bucket, manifest.batch_id, run_id, bins)
                plan_s = time.perf_counter() - validated
                shares = [list(range(planned["groups"]))[i::n] for i in range(n)]
                with ProcessPoolExecutor(n, mp_context=workers) as pool:
                    list(pool.map(_groups, [as_json] * n, [manifest.batch_id] * n, [run_id] * n, shares))
            grouped = time.perf_counter()
            summary = transform_task.run(res.bucket, res.kpis, manifest.batch_id, run_id=run_id)
            done = time.perf_counter()
            workers_cpu, emulator_cpu = own_cpu() - cpu_before, cpu_of(emulator.pid or 0) - emulator_before
            staged = {
                k: transient.get_frame(res.bucket, layout.staging_key(manifest.batch_id, k)) for k in layout.KINDS
            }
            report.pop("generated_at")
            report.pop("fan_out", None)  # says who parsed each file: differs by design
            outcome = {
                "workers": n,
                "parse_s": round(parsed - started, 2),
                "validate_s": round(validated - started, 2),
                "plan_s": round(plan_s, 2),
                "transform_groups_s": round(grouped - validated, 2),
                "transform_s": round(done - validated, 2),
                "total_s": round(done - started, 2),
                "kpi_items": summary["kpi_items_written"],
                # CPU time spent by the tasks and by the emulator serving them: on 2 cores, 2 workers
                # cannot finish before (workers + emulator) / 2
                "workers_cpu_s": round(workers_cpu, 2),
                "emulator_cpu_s": round(emulator_cpu, 2),
                "bound_2_cores_s": round((workers_cpu + emulator_cpu) / 2, 2),
                # the steps one task runs while the other workers wait: validate after the parts,
                # the plan, the finish (with 1 worker, everything)
                "serial_s": round((validated - parsed) + plan_s + (done - grouped), 2),
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
        {"workers": o["workers"], "speed_up": round(one / o["total_s"], 3), "ceiling": round(one / o["serial_s"], 3)}
        for o, *_ in outcomes[1:]
    ]  # one per run after the first (a count given twice is run twice); ceiling: the speed-up if
    # every parallel step took no time at all
    print(json.dumps({"same_report_and_kpis": True, "size": args.size, "against_the_first_run": ratios}))


if __name__ == "__main__":
    main()
