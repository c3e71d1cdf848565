"""A batch fanned out over N worker processes against one run in one task, on the emulator's S3,
through the real tasks: `parse-file` per file, then `validate` from the parts; then
`plan-transform`, `transform-group` per group of dates and `transform` to finish. With 1 worker,
`validate` and `transform` do everything. Prints one JSON line per worker count and checks that
every count gives the same report, staged rows, order and category KPIs.

    python bench/fanout.py --size 10M --workers 1,2
"""

from __future__ import annotations

import argparse
import json
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
    from ecompipe.batch.pipeline import Resources
    from ecompipe.core.settings import Settings
    from validator import task as validate_task

    res = Resources.from_settings(Settings(**json.loads(settings_json)))
    for key in keys:
        validate_task.parse_one(res.settings, res.bucket, batch_id, key)


def _groups(settings_json: str, batch_id: str, run_id: str, groups: list[int]) -> None:
    """One worker: the transform-group task for each of its groups."""
    from ecompipe.batch.pipeline import Resources
    from ecompipe.core.settings import Settings
    from transformer import fanout

    res = Resources.from_settings(Settings(**json.loads(settings_json)))
    for group in groups:
        fanout.transform_group(res.bucket, res.kpis, batch_id, run_id, group, lambda _step: None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument(
        "--bins", type=int, default=0, help="groups of dates of a fanned-out transform (default: as plan-transform)"
    )
    args = ap.parse_args()

    from pandas.testing import assert_frame_equal

    from ecompipe.aws import parquet
    from ecompipe.aws.manifests import Manifest, write_manifest
    from ecompipe.batch import tasks
    from ecompipe.batch.pipeline import Resources, upload
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
        with EmulatorProcess() as url:
            settings = Settings(endpoint_url=url, bucket="ecompipe-fanout", max_file_mb=0)
            res = Resources.from_settings(settings)
            res.init()
            keys = upload(res.bucket, files)
            manifest = Manifest.for_files([res.bucket.head(k) for k in keys])  # type: ignore[misc]
            write_manifest(res.bucket, manifest)
            started = time.perf_counter()
            as_json = json.dumps({"endpoint_url": url, "bucket": settings.bucket, "max_file_mb": 0})
            if n > 1:
                shares = [keys[i::n] for i in range(n)]
                with ProcessPoolExecutor(n) as pool:
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
                with ProcessPoolExecutor(n) as pool:
                    list(pool.map(_groups, [as_json] * n, [manifest.batch_id] * n, [run_id] * n, shares))
            grouped = time.perf_counter()
            summary = transform_task.run(res.bucket, res.kpis, manifest.batch_id, run_id=run_id)
            done = time.perf_counter()
            staged = {k: parquet.get_frame(res.bucket, layout.staging_key(manifest.batch_id, k)) for k in layout.KINDS}
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
    print(json.dumps({"same_report_and_kpis": True, "size": args.size}))


if __name__ == "__main__":
    main()
