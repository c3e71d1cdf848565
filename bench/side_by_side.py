"""Two batches one after another against the same two side by side, each an `ecompipe run`
through the state machine on one emulator: validations overlap, commits take turns on the commit
lease. Prints one JSON line per mode (wall seconds, and how many batches had their held items
and the pending set rechecked at their commit) and checks that both modes end with the same KPIs.

    python bench/side_by_side.py --items 300000

The two drops: (a) orders, items and products of 30 days, (b) another range of order ids and days
(`first_id`, `start`) with the same catalogue — distinct keys, so neither needs the other;
`--split` instead makes (a) the orders and products and (b) the items of one drop, so (b)'s items
wait for (a)'s orders (rechecked at its commit when (a) committed first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _drops(items: int, split: bool, out: Path) -> list[Path]:
    from ecompipe.local.generate import Spec, generate

    a, b = out / "a", out / "b"
    a.mkdir()
    b.mkdir()
    if split:
        for name, data in generate(Spec(items, files=5, days=30, seed=1)).items():
            (b if name.startswith("order_items") else a).joinpath(name).write_bytes(data)
    else:
        first = generate(Spec(items, files=5, days=30, seed=1))
        second = generate(Spec(items, files=5, days=30, seed=2, first_id=10 * items, start="2025-03-01"))
        for name, data in first.items():
            (a / name).write_bytes(data)
        for name, data in second.items():
            # the same catalogue in both: two drops that redefine a product differently end with
            # the definition committed last, which differs between the two modes by design
            data = first[name] if name.startswith("products") else data
            (b / name.replace(".csv", "_b.csv")).write_bytes(data)
    return [a, b]


def _run(directory: Path, url: str) -> subprocess.Popen:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ecompipe", "run", str(directory), "--endpoint-url", url, "--output", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _mode(drops: list[Path], side_by_side: bool) -> dict:
    from ecompipe.batch.resources import Resources
    from ecompipe.core.settings import Settings
    from ecompipe.local.emulator import EmulatorProcess

    with EmulatorProcess() as url:
        started = time.monotonic()
        if side_by_side:
            procs = [_run(d, url) for d in drops]
            outs = [p.communicate() for p in procs]
        else:
            procs, outs = [], []
            for d in drops:
                procs.append(_run(d, url))
                outs.append(procs[-1].communicate())
        wall = time.monotonic() - started
        for proc, (_, err) in zip(procs, outs, strict=True):
            if proc.returncode != 0:
                raise SystemExit(err)
        res = Resources.from_settings(Settings(endpoint_url=url))
        again = [
            b
            for b in (res.bucket.list("reports/"))
            if b.key.endswith("validation.json") and "rechecked_at_commit" in res.bucket.get_json(b.key)
        ]
        kpis = (res.kpis.order_kpis(), res.kpis.category_kpis())
    return {
        "mode": "side by side" if side_by_side else "one after another",
        "wall_s": round(wall, 1),
        "rechecked_at_commit": len(again),
        "kpis": kpis,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=300_000, help="order items per drop")
    ap.add_argument("--split", action="store_true", help="one drop: orders in (a), their items in (b)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        drops = _drops(args.items, args.split, Path(tmp))
        results = [_mode(drops, False), _mode(drops, True)]
    for r in results:
        print(json.dumps({k: v for k, v in r.items() if k != "kpis"} | {"items": args.items, "split": args.split}))
    if results[0]["kpis"] != results[1]["kpis"]:
        raise SystemExit("the two modes ended with different KPIs")
    print(json.dumps({"speed_up": round(results[0]["wall_s"] / results[1]["wall_s"], 2), "same_kpis": True}))


if __name__ == "__main__":
    main()
