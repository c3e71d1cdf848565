"""What the date leases of one commit cost on the emulator's S3: holding N days, a fence over them
(in the process that took them: one LIST; in another, such as a TransformDates child: one read
per day the first time, one LIST after), and their release. Prints one JSON line per N.

    python bench/leases.py --days 30,365
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(step) -> float:
    started = time.perf_counter()
    step()
    return round(time.perf_counter() - started, 3)


def _one_commit(res, n: int) -> dict:
    from ecompipe.aws.date_leases import DateLeases

    days = [(date(2025, 1, 1) + timedelta(i)).isoformat() for i in range(n)]
    mine = DateLeases(res.leases(), f"run-{n}", "bench")
    child = DateLeases(res.leases(), f"run-{n}", "bench")  # the same run in another process
    return {
        "hold_s": _timed(lambda: mine.hold(days, timedelta(0))),
        "fence_s": _timed(lambda: mine.check(days, "bench")),
        "fence_other_process_s": _timed(lambda: child.check(days, "bench")),
        "fence_other_process_again_s": _timed(lambda: child.check(days, "bench")),
        "release_s": _timed(mine.release),
    }


def main() -> None:
    from ecompipe.batch.resources import Resources
    from ecompipe.core.settings import Settings
    from ecompipe.local.emulator import EmulatorProcess

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", default="30,365", help="comma-separated numbers of days")
    args = ap.parse_args()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "t")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with EmulatorProcess() as url:
        res = Resources.from_settings(Settings(endpoint_url=url))
        res.init()
        for n in (int(d) for d in args.days.split(",")):
            print(json.dumps({"days": n, **_one_commit(res, n)}))


if __name__ == "__main__":
    main()
