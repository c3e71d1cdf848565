"""History growth: what one batch costs on an empty store and on a store full of history.

Two cases, both printed (one JSON line each, then the two ratios):

- same date (`ecompipe run` against one emulator, times from the run ledger): a batch of ITEMS
  items into one order date, on a store holding only the catalogue, and on a store whose same date
  already holds DATE_ITEMS items (loaded by `ecompipe run` in batches of LOAD_ITEMS). Each store
  takes REPEAT measured batches one after another (new orders of the date each time); the median
  counts. This is a shop's day: many batches, most of their orders on today's date.
- other dates (in-process moto, the real task code): a batch of OTHER_ITEMS items on an empty
  store (a fresh one each time), and after PRIOR earlier batches of PRIOR_ITEMS items have filled
  other days (REPEAT measured batches one after another, each on days and keys of its own); the
  medians count.

    python bench/history.py --date-items 2000000 --items 20000 --prior 100 --prior-items 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
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
THE_DAY = "2025-06-01"


# ---- same date, through `ecompipe run` on one emulator ----------------------------------------


def _write(directory: Path, files: dict[str, bytes], tag: str) -> Path:
    directory.mkdir(parents=True)
    for name, data in files.items():
        stem, _, ext = name.rpartition(".")
        (directory / f"{stem}_{tag}.{ext}").write_bytes(data)
    return directory


def _day(items: int, first_id: int, seed: int) -> dict[str, bytes]:
    """`items` items of new orders on THE_DAY (ids from first_id), without a catalogue: the store's
    (loaded first, from the largest batch's, so it names every product) stays as it is."""
    files = generate(Spec(items, days=1, files=1, seed=seed, start=THE_DAY, first_id=first_id))
    return {k: v for k, v in files.items() if not k.startswith("products")}


def _catalogue(items: int) -> dict[str, bytes]:
    files = generate(Spec(items, days=1, files=1, seed=0, start=THE_DAY))
    return {k: v for k, v in files.items() if k.startswith("products")}


def _ecompipe_run(directory: Path, url: str) -> dict:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.run(
        [sys.executable, "-m", "ecompipe", "run", str(directory), "--endpoint-url", url, "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"ecompipe run {directory} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def _ledger_seconds(url: str, since: float) -> float:
    """The run ledger's time (finished_at - started_at) of the one run started after `since`."""
    res = Resources.from_settings(Settings(endpoint_url=url))
    runs = [r for r in res.ledger.recent(50) if _at(r["started_at"]) >= since]
    if len(runs) != 1:
        raise SystemExit(f"expected one new run in the ledger, found {len(runs)}")
    return _at(runs[0]["finished_at"]) - _at(runs[0]["started_at"])


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def same_date(date_items: int, load_items: int, items: int, repeat: int, tmp: Path) -> dict:
    from ecompipe.local.emulator import EmulatorProcess

    out = {}
    for store, prior in (("empty", 0), ("full", date_items)):
        with EmulatorProcess() as url:
            _ecompipe_run(_write(tmp / store / "catalogue", _catalogue(max(load_items, items)), "c"), url)
            loaded, n = 0, 0
            while loaded < prior:
                size = min(load_items, prior - loaded)
                _ecompipe_run(_write(tmp / store / f"load{n}", _day(size, 1 + loaded * 2, 100 + n), f"l{n}"), url)
                loaded, n = loaded + size, n + 1
                print(f"  {store}: {loaded:,} items on {THE_DAY}", file=sys.stderr, flush=True)
            times = []
            for r in range(repeat):
                files = _day(items, 10**9 + r * 10 * items, 999 + r)
                since = time.time()
                _ecompipe_run(_write(tmp / store / f"measured{r}", files, f"m{r}"), url)
                times.append(_ledger_seconds(url, since - 1))
            out[store] = {"prior_items_on_the_date": prior, "run_s": [round(t, 3) for t in times]}
    empty, full = (out[s]["run_s"] for s in ("empty", "full"))
    return {
        "case": "same date",
        "items": items,
        **{f"{s}_run_s": out[s]["run_s"] for s in out},
        "date_items": date_items,
        "ratio": round(statistics.median(full) / statistics.median(empty), 2),
        "mean_ratio": round(statistics.mean(full) / statistics.mean(empty), 2),
    }


# ---- other dates, in process ------------------------------------------------------------------


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


def measured_batch(items: int, prior: int, n: int = 0) -> dict[str, bytes]:
    """The n-th batch timed in a store: three days after every prior batch's day and every earlier
    measured batch's, keys of its own."""
    start = (FIRST_DAY + timedelta(days=prior + 1 + 3 * n)).isoformat()
    files = generate(Spec(items, days=3, files=3, seed=99 + n, start=start, first_id=900_000_000 + n * 1_000_000))
    return _without_catalogue(files)


def _without_catalogue(files: dict[str, bytes]) -> dict[str, bytes]:
    """Each generated batch brings a catalogue of its own seed, which would recategorise every
    product (and rescore every date holding one): the store's catalogue is loaded once instead."""
    return {k: v for k, v in files.items() if not k.startswith("products")}


def with_store(prior: int, prior_items: int, items: int, repeat: int = 1) -> list[float]:
    """The seconds of `repeat` measured batches, one after another, on a store holding the
    catalogue and `prior` batches."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        res = Resources.from_settings(Settings(bucket=f"ecompipe-history-{prior}"))
        res.init()
        run_batch(res, _catalogue(max(items, prior_items)), "catalogue")
        for i in range(prior):
            day = (FIRST_DAY + timedelta(days=i)).isoformat()
            spec = Spec(prior_items, days=1, files=1, seed=i, start=day, first_id=1 + i * 1_000_000)
            run_batch(res, _without_catalogue(generate(spec)), f"p{i}")
            if i % 10 == 9:
                print(f"  {i + 1}/{prior} prior batches", file=sys.stderr, flush=True)
        return [run_batch(res, measured_batch(items, prior, n), f"measured{n}") for n in range(repeat)]


def other_dates(prior: int, prior_items: int, items: int, repeat: int) -> dict:
    from ecompipe.local import patches

    patches.apply()  # the emulator's fixes, as the embedded emulator and the tests run with
    with_store(0, prior_items, items)  # warm-up: imports and moto's first calls are not timed
    empty = [with_store(0, prior_items, items)[0] for _ in range(repeat)]
    full = with_store(prior, prior_items, items, repeat)
    return {
        "case": "other dates",
        "prior_batches": prior,
        "prior_items_each": prior_items,
        "items": items,
        "empty_s": [round(s, 3) for s in empty],
        "with_history_s": [round(s, 3) for s in full],
        "ratio": round(statistics.median(full) / statistics.median(empty), 2),
        "mean_ratio": round(statistics.mean(full) / statistics.mean(empty), 2),  # merges of index runs included
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["both", "same-date", "other-dates"], default="both")
    ap.add_argument("--date-items", type=int, default=2_000_000, help="same date: items already on the date")
    ap.add_argument("--load-items", type=int, default=500_000, help="same date: items per loading batch")
    ap.add_argument("--items", type=int, default=20_000, help="items of the measured batch")
    ap.add_argument("--repeat", type=int, default=3, help="measured batches per store (the median counts)")
    ap.add_argument("--prior", type=int, default=100, help="other dates: earlier batches")
    ap.add_argument("--prior-items", type=int, default=2_000)
    ap.add_argument("--other-items", type=int, default=50_000, help="other dates: items of the measured batch")
    args = ap.parse_args()
    ratios = {}
    if args.case in ("both", "same-date"):
        with tempfile.TemporaryDirectory() as tmp:
            result = same_date(args.date_items, args.load_items, args.items, args.repeat, Path(tmp))
        print(json.dumps(result), flush=True)
        ratios["same_date"] = result["ratio"]
    if args.case in ("both", "other-dates"):
        result = other_dates(args.prior, args.prior_items, args.other_items, args.repeat)
        print(json.dumps(result), flush=True)
        ratios["other_dates"] = result["ratio"]
    print(json.dumps({"ratios": ratios, "targets": {"same_date": 1.3, "other_dates": 1.2}}))


if __name__ == "__main__":
    main()
