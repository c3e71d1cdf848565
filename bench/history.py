"""History growth: the time of one batch through validate + transform (S3 and DynamoDB on
in-process moto, the real task code) on an empty store, and again after PRIOR earlier batches
have filled the curated store with other days and other keys. Prints one JSON line.

    python bench/history.py --prior 100 --prior-items 2000 --items 50000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moto import mock_aws  # noqa: E402

from ecompipe.aws.manifests import Manifest, write_manifest  # noqa: E402
from ecompipe.batch.pipeline import run_manifest  # noqa: E402
from ecompipe.batch.resources import Resources  # noqa: E402
from ecompipe.core import layout  # noqa: E402
from ecompipe.core.settings import Settings  # noqa: E402
from ecompipe.local.generate import Spec, generate  # noqa: E402

FIRST_DAY = date(2024, 1, 1)


def run_batch(res: Resources, files: dict[str, bytes], tag: str) -> float:
    """Upload `files` under names unique to this batch and run them as one batch; the seconds taken."""
    keys = []
    for name, data in files.items():
        stem, _, ext = name.rpartition(".")
        key = layout.incoming_key(f"{stem}_{tag}.{ext}")
        res.bucket.put_bytes(key, data)
        keys.append(key)
    manifest = Manifest.for_files([info for info in (res.bucket.head(k) for k in keys) if info is not None])
    write_manifest(res.bucket, manifest)
    started = time.perf_counter()
    run_manifest(res, manifest)
    return time.perf_counter() - started


def measured_batch(items: int, prior: int) -> dict[str, bytes]:
    """The batch timed in both stores: days after every prior batch's day, keys of its own."""
    start = (FIRST_DAY + timedelta(days=prior + 1)).isoformat()
    return generate(Spec(items, days=3, files=3, seed=99, start=start, first_id=900_000_000))


def with_store(prior: int, prior_items: int, items: int) -> float:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        res = Resources.from_settings(Settings(bucket=f"ecompipe-history-{prior}"))
        res.init()
        for i in range(prior):
            day = (FIRST_DAY + timedelta(days=i)).isoformat()
            spec = Spec(prior_items, days=1, files=1, seed=i, start=day, first_id=1 + i * 1_000_000)
            run_batch(res, generate(spec), f"p{i}")
            if i % 10 == 9:
                print(f"  {i + 1}/{prior} prior batches", file=sys.stderr, flush=True)
        return run_batch(res, measured_batch(items, prior), "measured")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", type=int, default=100)
    ap.add_argument("--prior-items", type=int, default=2_000)
    ap.add_argument("--items", type=int, default=50_000)
    args = ap.parse_args()
    with_store(0, args.prior_items, args.items)  # warm-up: imports and moto's first calls are not timed
    empty = with_store(0, args.prior_items, args.items)
    full = with_store(args.prior, args.prior_items, args.items)
    print(
        json.dumps(
            {
                "prior_batches": args.prior,
                "prior_items_each": args.prior_items,
                "items": args.items,
                "empty_s": round(empty, 3),
                "with_history_s": round(full, 3),
                "ratio": round(full / empty, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
