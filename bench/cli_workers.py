"""`ecompipe run DIRECTORY --workers N` for each worker count, the command issue 39 names: each run a
fresh command with its own embedded emulator, everything through the state machine and the local
task runner, with ECOMPIPE_MAX_BATCH_MB=0 and ECOMPIPE_FAN_OUT_MIN_MB=0 (so a batch of several
workers fans out). The counts alternate, `--repeat` rounds. Prints one JSON line per run (its wall
time and the CPU the command and its emulator spent), then each count's median and speed-up over
the first count's, and checks every run printed the same KPIs.

    python bench/cli_workers.py --size 3M --workers 1,2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import dataset  # noqa: E402


def children_cpu() -> float:
    """CPU seconds of the ended child processes (each command, with the emulator it waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(directory: Path, workers: int) -> dict:
    """One `ecompipe run` of `directory` with `workers`: its wall time, CPU and KPIs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOMPIPE_", "AWS_"))}
    env.update(ECOMPIPE_MAX_BATCH_MB="0", ECOMPIPE_FAN_OUT_MIN_MB="0")
    command = [sys.executable, "-m", "ecompipe", "run", str(directory), "--workers", str(workers), "--output", "json"]
    cpu, started = children_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ecompipe run --workers {workers} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    summary = proc.stderr.strip().splitlines()[-1]
    return {
        "workers": workers,
        "s": round(wall, 2),
        "cpu_s": round(children_cpu() - cpu, 2),
        "summary": summary,
        "kpis": json.loads(proc.stdout),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="3M", help="order items (bench.run's sizes)")
    ap.add_argument("--bad-rate", type=float, default=0.01)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    directory = dataset(args.size, args.bad_rate, "seed", 90)
    counts = [int(w) for w in args.workers.split(",")]
    runs = []
    for _ in range(args.repeat):
        for n in counts:
            done = run(directory, n)
            runs.append(done)
            print(json.dumps({k: v for k, v in done.items() if k != "kpis"}), flush=True)
    medians = {n: statistics.median(r["s"] for r in runs if r["workers"] == n) for n in counts}
    first = medians[counts[0]]
    print(
        json.dumps(
            {
                "size": args.size,
                "same_kpis": all(r["kpis"] == runs[0]["kpis"] for r in runs),
                "median_s": medians,
                "speed_up": {n: round(first / m, 3) for n, m in medians.items()},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
