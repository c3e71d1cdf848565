"""How much of a rebuild takes turns on a date's lease: since a batch computes its rebuild at its
plan (transformer.cells.compute, no lease) and only writes it under the lease (transformer.cells.write),
the day's batches of one date queue for their writes only. bench/scale.py models the day from this
share.

One store on in-process moto (with the emulator's fixes), a catalogue, then `--batches` batches of
`--items` items each, all on one date, each through the pipeline; compute and write timed around
the real functions. Prints {"compute_s", "write_s", "share"} (sums over the batches after the first,
which only warms up).

    python bench/write_share.py --items 200000 --batches 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

from moto import mock_aws  # noqa: E402

from bench.history import _catalogue, _without_catalogue, run_batch  # noqa: E402
from ecompipe.batch.resources import Resources  # noqa: E402
from ecompipe.core.settings import Settings  # noqa: E402
from ecompipe.local.generate import Spec, generate  # noqa: E402
from transformer import cells  # noqa: E402

DAY = "2025-06-01"


def timed(name: str, totals: dict[str, float]):
    """The real function `cells.<name>`, its time added to totals[name]."""
    real = getattr(cells, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batches", type=int, default=4)
    args = parser.parse_args()
    from ecompipe.local import patches

    patches.apply()
    totals = {"compute": 0.0, "write": 0.0}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        res = Resources.from_settings(Settings(bucket="ecompipe-write-share"))
        res.init()
        run_batch(res, _catalogue(args.items), "catalogue")
        cells.compute, cells.write = timed("compute", totals), timed("write", totals)  # type: ignore[method-assign]
        for n in range(args.batches):
            if n == 1:  # the first batch warms up (imports, moto's first calls): not counted
                totals.update(compute=0.0, write=0.0)
            spec = Spec(args.items, days=1, files=2, seed=n, start=DAY, first_id=1 + n * 10_000_000)
            run_batch(res, _without_catalogue(generate(spec)), f"b{n}")
    share = totals["write"] / (totals["compute"] + totals["write"])
    print(json.dumps({"items": args.items, "batches": args.batches - 1, **{k: round(v, 2) for k, v in totals.items()},
                      "share": round(share, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
