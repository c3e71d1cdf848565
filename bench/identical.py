"""Outputs identical to an earlier commit: validate + KPIs on the same inputs with this tree's code
and with the code of COMMIT (checked out in a temporary git worktree), then every staged frame,
rejected-rows file, pending set, report (minus its time stamp) and both KPI tables compared.

    python bench/identical.py --against d6f649c                      # sample, lab, corpus, generated
    python bench/identical.py --against d6f649c --dir bench/out/seed-1M-bad0.01
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the tree being measured (its own imports): input sets -> pickled outputs.
CHILD = """
import pickle, sys
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from transformer.kpis import category_kpis, order_kpis
from validator.batch import InputFile, Known, validate_batch
sets = pickle.loads(Path(sys.argv[2]).read_bytes())
out = {}
for name, files in sets.items():
    inputs = [InputFile(f"incoming/{n}", d) for n, d in files.items()]
    r = validate_batch("b", inputs, Known(), None, now=datetime(2026, 1, 1, tzinfo=UTC))
    s = r.staged
    kpis = (order_kpis(s["orders"], s["order_items"]), category_kpis(s["orders"], s["order_items"], s["products"]))
    r.report.pop("generated_at")
    out[name] = {"staged": s, "rejected": r.rejected_rows, "pending": r.pending, "report": r.report, "kpis": kpis}
Path(sys.argv[3]).write_bytes(pickle.dumps(out))
"""


def input_sets(dirs: list[Path]) -> dict[str, dict[str, bytes]]:
    if dirs:
        return {str(d): {p.name: p.read_bytes() for p in sorted(d.rglob("*.csv"))} for d in dirs}
    sys.path.insert(0, str(ROOT))
    from tests.functional.test_reference_path import INPUTS

    return INPUTS


def outputs(tree: Path, sets_file: Path, work: Path) -> dict:
    out = work / f"{tree.name}.pickle"
    subprocess.run([sys.executable, "-c", CHILD, str(tree), str(sets_file), str(out)], check=True)
    return pickle.loads(out.read_bytes())


def _as_stored(frame: pd.DataFrame) -> pd.DataFrame:
    """Staged rows as their readers get them from S3: a category (the file column, staged as a
    dictionary since 2026-12-03) as its text."""
    from ecompipe.core.arrow import category_as_text

    categories = [c for c in frame.columns if str(frame[c].dtype) == "category"]
    return frame.assign(**{c: category_as_text(frame[c]) for c in categories})


def _rejected_csv(frame: pd.DataFrame | None) -> bytes | None:
    from validator.task import rows_csv

    return None if frame is None else rows_csv(frame)


def differences(old: dict, new: dict) -> list[str]:
    import pandas as pd

    found = []
    for name in old:
        a, b = old[name], new[name]
        if a["report"] != b["report"]:
            found.append(f"{name}: report")
        frames = [(f"staged {k}", _as_stored(a["staged"][k]), _as_stored(b["staged"][k])) for k in a["staged"]]
        for k in a["rejected"]:  # rejected rows as stored: the CSV people open (validator.task)
            if _rejected_csv(a["rejected"][k]) != _rejected_csv(b["rejected"].get(k)):
                found.append(f"{name}: rejected {k}")
        frames += [("pending", a["pending"], b["pending"]), ("order KPIs", a["kpis"][0], b["kpis"][0])]
        frames += [("category KPIs", a["kpis"][1], b["kpis"][1])]
        if set(a["rejected"]) != set(b["rejected"]):
            found.append(f"{name}: rejected files")
        for what, x, y in frames:
            try:
                pd.testing.assert_frame_equal(x, y)
            except (AssertionError, TypeError) as exc:
                found.append(f"{name}: {what}: {str(exc).splitlines()[0]}")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="the commit whose outputs must be matched")
    ap.add_argument("--dir", action="append", type=Path, default=[], help="a directory of CSV files (repeatable)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old_tree = work / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old_tree), args.against])
        try:
            sets_file = work / "sets.pickle"
            sets_file.write_bytes(pickle.dumps(input_sets(args.dir)))
            found = differences(outputs(old_tree, sets_file, work), outputs(ROOT, sets_file, work))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], check=False)
    print("\n".join(found) if found else f"identical to {args.against} on every input set")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
