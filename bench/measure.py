"""One measurement in its own process, so its peak RSS is its own: prints {"seconds",
"peak_rss_mib", "baseline_rss_mib"} (the baseline: the interpreter with the kind's libraries
imported, before any data is read).

python bench/measure.py floor|duckdb|ecompipe|validate_core|validate|run DIR DIALECT
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def floor(directory: Path, dialect: str) -> None:
    """Reading every CSV with pyarrow: the least any CSV pipeline must do."""
    import pyarrow.csv as pacsv

    for path in sorted(directory.glob("*.csv")):
        pacsv.read_csv(path)


def duckdb_peer(directory: Path, dialect: str) -> None:
    from bench.peer_duckdb import duckdb_kpis

    duckdb_kpis(directory, dialect)


def ecompipe_stages(directory: Path, dialect: str) -> None:
    """The validate and transform stages' work (the pure cores, in memory, no S3/DynamoDB)."""
    from ecompipe.aws.curated import CuratedIndex
    from transformer import curate, kpis
    from validator.batch import Known, validate_batch

    result = validate_batch("bench", inputs(directory), Known(), None, now=datetime.now(UTC))
    staged = result.staged
    empty = CuratedIndex.empty()
    dates = curate.affected_dates(staged["orders"], staged["order_items"], empty, curate.pd.Index([]))
    orders, items = curate.rebuild(
        staged["orders"].iloc[0:0], staged["order_items"].iloc[0:0], staged["orders"], staged["order_items"]
    )
    order_table, category_table = kpis.kpi_tables(orders, items, staged["products"])
    kpis.order_records(order_table), kpis.category_records(category_table)
    assert dates


def validate_core(directory: Path, dialect: str) -> None:
    """The validate stage's work alone (the pure core, in memory): one validate task's share."""
    from validator.batch import Known, validate_batch

    validate_batch("bench", inputs(directory), Known(), None, now=datetime.now(UTC))


def inputs(directory: Path) -> list:
    """The directory's CSV files as a task gets them: each read when it is parsed (its path)."""
    from validator.batch import InputFile

    return [InputFile(f"incoming/{p.name}", None, p.stat().st_size, path=p) for p in sorted(directory.glob("*.csv"))]


def validate_cli(directory: Path, dialect: str) -> None:
    """`ecompipe validate DIR` as a user runs it (no AWS; the validator's pure core)."""
    _cli("validate", str(directory))


def end_to_end(directory: Path, dialect: str) -> None:
    """`ecompipe run DIR` as a user runs it (embedded emulator, the real state machine)."""
    _cli("run", str(directory), "--output", "json")


def _cli(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOMPIPE_")}
    subprocess.run([sys.executable, "-m", "ecompipe", *args], env=env, check=True, stdout=subprocess.DEVNULL)


def _cli_baseline() -> float:
    """The CLI kinds' baseline: the peak of an interpreter that loads what `ecompipe validate`
    loads and touches no data (a command's own process cannot be measured before its data)."""
    code = "import ecompipe.cli.tools, validator.batch, validator.checks, ecompipe.core.duck"
    subprocess.run([sys.executable, "-c", code], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _imports(kind: str) -> None:
    """What the kind loads before it touches data, so the baseline holds it."""
    if kind in ("ecompipe", "validate_core"):
        import transformer.kpis  # noqa: F401
        import validator.batch  # noqa: F401
    elif kind == "floor":
        import pyarrow.csv  # noqa: F401
    elif kind == "duckdb":
        import bench.peer_duckdb  # noqa: F401


KINDS = {
    "floor": floor,
    "duckdb": duckdb_peer,
    "ecompipe": ecompipe_stages,
    "validate_core": validate_core,
    "validate": validate_cli,
    "run": end_to_end,
}


def _rss_mib() -> float:
    """This process's peak RSS so far. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and
    exec, so a process started by a big parent (one that just generated the data) would report
    the parent's peak as its own."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


if __name__ == "__main__":
    kind, directory, dialect = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    _imports(kind)
    if kind in ("ecompipe", "validate_core"):  # the stages' work, in a process of its own as a task's
        from ecompipe.core.memory import keep_freed_memory

        keep_freed_memory()
    baseline = _cli_baseline() if kind in ("validate", "run") else _rss_mib()
    started = time.perf_counter()
    KINDS[kind](directory, dialect)
    seconds = time.perf_counter() - started
    rss = max(_rss_mib(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mib": round(rss, 1), "baseline_rss_mib": baseline}))
