"""A day of CSV at internet scale, computed from measured per-task throughput.

One validate task and one transform task are measured on this machine, pinned to one CPU like the
stack's 1-vCPU / 4 GiB Fargate tasks (infra/template.yaml), on a batch near the shard size a task
holds (3M order items, ~128 MiB of CSV, 1% bad rows). From those seconds and that peak memory the
model below gives, for a day of D bytes of CSV on the design as built (batches validated side by
side, each rebuilding only the cells it touches, under the lease of its order dates): tasks,
concurrency, the rebuilds that take today's date lease in turn, state transitions, S3 requests,
DynamoDB writes, wall time and cost per run, and the limit that binds first. AWS figures (prices,
quotas, task start time) are named constants with their source; the task start time and a
request's latency are assumptions, since nothing here reaches AWS.

    python bench/scale.py                                   # measure, then model 1 TB and 10 TB
    python bench/scale.py --measured bench/out/scale.json   # reuse the last measurement
    python bench/scale.py --append docs/scaling.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURED = ROOT / "bench" / "out" / "scale.json"
TIB_MIB = 1024 * 1024


@dataclass(frozen=True)
class Aws:
    """What AWS charges and allows (us-east-1, Linux/x86, on-demand; read 2026-12)."""

    vcpu_hour: float = 0.04048  # Fargate, per vCPU-hour (aws.amazon.com/fargate/pricing)
    gib_hour: float = 0.004445  # Fargate, per GB-hour
    billed_minimum_s: int = 60  # Fargate bills per second, one minute at least
    transition: float = 0.025 / 1000  # Step Functions Standard, per state transition
    s3_put: float = 0.005 / 1000  # S3 Standard PUT/COPY/POST/LIST, per request
    s3_get: float = 0.0004 / 1000  # S3 Standard GET, per request
    ddb_write: float = 0.625 / 1_000_000  # DynamoDB on-demand, per write request unit
    map_children: int = 10_000  # Distributed Map: parallel child executions at most
    launch_per_s: int = 20  # Fargate task launches per second, sustained (burst 100)
    launch_burst: int = 100
    s3_get_per_prefix_s: int = 5_500  # S3 request rate per partitioned prefix
    s3_put_per_prefix_s: int = 3_500
    ddb_partition_wcu_s: int = 1_000  # DynamoDB: writes per second one partition takes
    vcpu_quota: int = 4_000  # "Fargate On-Demand vCPU resource count": account-specific, set yours
    task_start_s: float = 60.0  # RunTask to RUNNING with a ~1 GB image: ASSUMED, not measured here


@dataclass(frozen=True)
class Task:
    vcpu: int = 1
    memory_mib: int = 4096
    headroom: float = 0.10  # of the task's memory, never planned for


@dataclass(frozen=True)
class Measured:
    """One validate task and one validate+transform task on the same batch, on one CPU."""

    csv_mib: float
    validate_s: float
    stages_s: float
    baseline_mib: float
    peak_mib: float  # the larger of the two processes' peaks
    categories: int  # distinct categories per date: one category KPI item each
    machine: str

    @property
    def transform_s(self) -> float:
        return max(self.stages_s - self.validate_s, 0.0)

    @property
    def memory_per_csv_mib(self) -> float:
        return (self.peak_mib - self.baseline_mib) / self.csv_mib


ITEMS_PER_CSV_MIB = 3_000_000 / 122.2  # the measured batch: 3M items in 122 MiB of CSV
REQUEST_S = 0.02  # one S3 or DynamoDB request's latency inside a region: ASSUMED, not measured here
# A rebuild in cells, what a transform task does: its compute (no lease) and its write (what takes
# turns on a date's lease), seconds per CSV MiB of the batch. `python bench/write_share.py --items
# 1000000 --batches 3` (docs/benchmarks-history.md, 2026-12-06 15:49): two measured batches of 1M items
# into one date computed in 7.1 s and wrote in 1.25 s in all. (The in-memory stage `transform_s`
# measured below leaves out the cells' reads, encoding and writes: it is 4x faster.)
_WRITE_SHARE_MIB = 2 * 1_000_000 / ITEMS_PER_CSV_MIB
COMPUTE_S_PER_MIB = 7.1 / _WRITE_SHARE_MIB
WRITE_S_PER_MIB = 1.25 / _WRITE_SHARE_MIB


def plan(day_mib: float, m: Measured, task: Task = Task(), aws: Aws = Aws(), max_concurrency: int = 1000) -> dict:
    """The run of one day's CSV on the built design (docs/scaling.md "A day at internet scale").

    The day arrives as batches of S MiB, S what a process holds by the measured memory per CSV
    MiB (and never more than the size measured, so the measured throughput applies); a task of
    k vCPUs runs k of them at once. Validation runs side by side, without a lease. Each batch's
    transform writes only the cells its rows touch (ecompipe.core.cells), so its work follows what
    it brings; but a day's data is mostly one order date, and a batch of its new orders writes every
    group of that date's cells, so it holds the date whole while it writes (transformer.grouped).
    A batch computes its rebuild without a lease and holds it only to write it (transformer.rebase):
    the day's writes take it in turn, one after another (`lease_chain_s`: each batch's write,
    WRITE_S_PER_MIB, and its requests), whatever the number of tasks. Batches that each brought
    the orders of one group (issue 39's shards, not built) would write GROUPS chains side by side
    (`group_chain_s`). Everything else runs in waves at the concurrency that binds.
    """
    from ecompipe.core import cells

    usable = task.memory_mib / task.vcpu * (1 - task.headroom) - m.baseline_mib  # per process
    shard = min(usable / m.memory_per_csv_mib, m.csv_mib)
    batches = math.ceil(day_mib / shard)
    n_v = n_t = math.ceil(batches / task.vcpu)  # one process per vCPU (the code is single-threaded)
    items = shard * ITEMS_PER_CSV_MIB
    date_buckets = cells.buckets_for(int(day_mib * ITEMS_PER_CSV_MIB))
    parts = 2 * cells.modulus_for(int(items * 1.5), date_buckets)  # orders and items of each cell it writes
    runs = 3 * (1 + math.ceil(math.log(max(batches, 2), cells.FAN_IN)))  # index runs a fresh task reads
    # a rebuild's requests, one after another where they depend: the index's runs, the date's
    # manifest and customers, its parts and runs written (side by side), manifest, customers, KPIs
    rebuild_s = shard * (COMPUTE_S_PER_MIB + WRITE_S_PER_MIB) + 8 * REQUEST_S
    t_v = aws.task_start_s + shard / (m.csv_mib / m.validate_s)
    t_t = aws.task_start_s + rebuild_s
    concurrency = min(max_concurrency, aws.map_children, aws.vcpu_quota // task.vcpu)

    def wall(n: int, seconds: float) -> float:
        waves = math.ceil(n / concurrency) * seconds
        launching = max(n - aws.launch_burst, 0) / aws.launch_per_s + seconds  # the last one still runs
        return max(waves, launching)

    # under today's lease: the manifest's version, the index run, the parts (side by side), the
    # customers, the manifest, the KPIs (a batch of one group: its groups' leases, then the swap's)
    lease_chain = batches * (shard * WRITE_S_PER_MIB + 6 * REQUEST_S)
    # the 14 states of the success path (statemachine/pipeline.asl.json), a size Choice, the Map
    # states and their children, per batch
    transitions = batches * (14 + 4 + 2)
    merges = parts / (cells.FAN_IN - 1)  # each part is merged into a bigger one about 1/3 of a time
    gets = batches * (3 + runs + 2 + cells.FAN_IN * merges)  # inputs, runs, manifest and customers, merges
    puts = batches * (4 + parts + merges + 3 + 2)  # staged and report, parts, merges, runs, manifest and customers
    days_touched = 1 + 1  # a day's orders plus late items of the day before
    ddb_writes = batches * days_touched * (1 + m.categories)  # each rebuild rewrites its dates' KPI items
    billed = [(n_v, t_v), (n_t, t_t)]
    task_hours = sum(n * max(t, aws.billed_minimum_s) for n, t in billed) / 3600
    cost = {
        "fargate": task_hours * (task.vcpu * aws.vcpu_hour + task.memory_mib / 1024 * aws.gib_hour),
        "step_functions": transitions * aws.transition,
        "s3_requests": gets * aws.s3_get + puts * aws.s3_put,
        "dynamodb": ddb_writes * aws.ddb_write,
    }
    bound = {
        "Distributed Map parallel children": aws.map_children,
        "Fargate vCPU quota (tasks)": aws.vcpu_quota // task.vcpu,
        "MaxConcurrency set in the state machine": max_concurrency,
    }
    binding = min(bound, key=lambda k: bound[k])
    parallel = wall(n_v, t_v) + t_t
    return {
        "day_mib": day_mib,
        "task": asdict(task),
        "shard_mib": round(shard, 1),
        "batches": batches,
        "validate_tasks": n_v,
        "transform_tasks": n_t,
        "validate_task_s": round(t_v, 1),
        "transform_task_s": round(t_t, 1),
        "date_buckets": date_buckets,
        "parts_per_batch": parts,
        "concurrency": concurrency,
        "binding_concurrency": binding,
        "state_transitions": transitions,
        "s3_gets": round(gets),
        "s3_puts": round(puts),
        "dynamodb_writes": ddb_writes,
        "dynamodb_partition_seconds": round(batches / aws.ddb_partition_wcu_s, 3),  # today's OrderKPIs item
        "lease_chain_s": round(lease_chain, 1),
        "group_chain_s": round(lease_chain / cells.GROUPS, 1),
        "wall_s": round(max(parallel, aws.task_start_s + t_v + lease_chain), 1),
        "binds": "today's lease (writes in turn)" if lease_chain + t_v > parallel else "concurrency",
        "cost_usd": {k: round(v, 2) for k, v in cost.items()} | {"total": round(sum(cost.values()), 2)},
        "compute_hours": round(task_hours * task.vcpu, 1),
    }


def render(m: Measured, plans: list[tuple[str, dict]], argv: str) -> str:
    """The plans as the markdown section docs/scaling.md holds."""
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{argv}`",
        "",
        f"Measured on {m.machine}, one CPU: {m.csv_mib:.1f} MiB of CSV validated in {m.validate_s:.1f} s "
        f"({m.csv_mib / m.validate_s:.1f} MiB/s; its in-memory transform stage {m.transform_s:.1f} s); peak "
        f"{m.peak_mib:.0f} MiB over a {m.baseline_mib:.0f} MiB baseline ({m.memory_per_csv_mib:.1f}× the CSV); "
        f"{m.categories} categories per date. A rebuild in cells computes at {1 / COMPUTE_S_PER_MIB:.1f} MiB/s "
        f"and writes at {1 / WRITE_S_PER_MIB:.1f} MiB/s (`python bench/write_share.py --items 1000000 --batches 3`).",
        "",
        "| | " + " | ".join(name for name, _ in plans) + " |",
        "|---|" + "---|" * len(plans),
    ]
    rows = [
        ("task (vCPU / MiB)", lambda p: f"{p['task']['vcpu']} / {p['task']['memory_mib']}"),
        ("shard per process, MiB of CSV", lambda p: p["shard_mib"]),
        (
            "batches / validate tasks / transform tasks",
            lambda p: f"{p['batches']:,} / {p['validate_tasks']:,} / {p['transform_tasks']:,}",
        ),
        ("seconds per validate / transform task", lambda p: f"{p['validate_task_s']} / {p['transform_task_s']}"),
        ("tasks at once (what binds)", lambda p: f"{p['concurrency']:,} ({p['binding_concurrency']})"),
        ("state transitions", lambda p: f"{p['state_transitions']:,}"),
        ("S3 GETs / PUTs", lambda p: f"{p['s3_gets']:,} / {p['s3_puts']:,}"),
        ("today's buckets / parts a batch writes", lambda p: f"{p['date_buckets']} / {p['parts_per_batch']}"),
        ("writes in turn on today's lease, hours", lambda p: f"{p['lease_chain_s'] / 3600:,.1f}"),
        ("the same, batches of one group each (not built), hours", lambda p: f"{p['group_chain_s'] / 3600:,.1f}"),
        (
            "DynamoDB writes (one partition's seconds)",
            lambda p: f"{p['dynamodb_writes']} ({p['dynamodb_partition_seconds']})",
        ),
        ("wall time, hours (what binds)", lambda p: f"{p['wall_s'] / 3600:,.1f} ({p['binds']})"),
        ("vCPU-hours", lambda p: f"{p['compute_hours']:,}"),
        ("cost per run, USD: Fargate", lambda p: f"{p['cost_usd']['fargate']:,.2f}"),
        ("Step Functions", lambda p: f"{p['cost_usd']['step_functions']:,.2f}"),
        ("S3 requests", lambda p: f"{p['cost_usd']['s3_requests']:,.2f}"),
        ("DynamoDB", lambda p: f"{p['cost_usd']['dynamodb']:,.4f}"),
        ("total", lambda p: f"**{p['cost_usd']['total']:,.2f}**"),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(str(cell(p)) for _, p in plans) + " |")
    return "\n".join(lines) + "\n"


def measure() -> Measured:
    """Generate (once) and measure the 3M-item batch, each process pinned to CPU 0."""
    sys.path.insert(0, str(ROOT))
    from bench.run import dataset

    directory = dataset("3M", 0.01, "seed")
    runs = {kind: _pinned(kind, directory) for kind in ("validate_core", "ecompipe")}
    return Measured(
        csv_mib=sum(p.stat().st_size for p in directory.glob("*.csv")) / 2**20,
        validate_s=runs["validate_core"]["seconds"],
        stages_s=runs["ecompipe"]["seconds"],
        baseline_mib=max(r["baseline_rss_mib"] for r in runs.values()),
        peak_mib=max(r["peak_rss_mib"] for r in runs.values()),
        categories=_categories(directory),
        machine=f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    )


def _pinned(kind: str, directory: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "measure.py"), kind, str(directory), "seed"],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),  # one CPU, like a 1-vCPU task
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _categories(directory: Path) -> int:
    import pyarrow.csv as pacsv

    products = pacsv.read_csv(directory / "products.csv")
    return len(set(products.column("category").to_pylist()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measured", type=Path, help="a measurement written by an earlier run (JSON)")
    ap.add_argument("--max-concurrency", type=int, default=1000, help="the Map states' MaxConcurrency")
    ap.add_argument("--append", type=Path, help="append the tables to this markdown file")
    args = ap.parse_args()
    if args.measured:
        m = Measured(**json.loads(args.measured.read_text()))
    else:
        m = measure()
        MEASURED.parent.mkdir(parents=True, exist_ok=True)
        MEASURED.write_text(json.dumps(asdict(m), indent=2))
    big = Task(vcpu=16, memory_mib=16 * 4096)  # the largest Fargate size with the same memory per vCPU
    plans = [
        ("1 TB, 1 vCPU tasks", plan(TIB_MIB, m, max_concurrency=args.max_concurrency)),
        ("10 TB, 1 vCPU tasks", plan(10 * TIB_MIB, m, max_concurrency=args.max_concurrency)),
        ("10 TB, 16 vCPU tasks", plan(10 * TIB_MIB, m, big, max_concurrency=args.max_concurrency)),
    ]
    text = render(m, plans, " ".join(["python bench/scale.py", *sys.argv[1:]]))
    print(text)
    if args.append:
        with args.append.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
