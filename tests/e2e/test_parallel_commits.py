"""Issue 19 with real processes on the emulator: the transform tasks of three batches run at once.
Two whose dates do not overlap rebuild their dates side by side; the third, which shares a date
with one of them, waits for that date; all then take turns on the short batch-wide step, and the
KPIs are those of one batch holding the union."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecompipe.aws.date_leases import date_leases
from ecompipe.batch import tasks
from ecompipe.batch.pipeline import run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from ecompipe.core.taskenv import TaskInput
from tests.conftest import ROOT
from tests.e2e.test_observability import _task_env
from tests.support.helpers import kpi_state, one_shot_kpis, put_files, record_manifest
from validator import task as validate_task

pytestmark = pytest.mark.e2e

PRODUCTS = b"product_id,category,price\nP1,Books,10.00\nP2,Toys,5.00\n"
ORDERS = "order_id,user_id,order_date,status,total_amount\n"
ITEMS = "order_id,product_id,quantity,unit_price\n"
BATCHES = {  # first day, second day, and the first day again
    "a": {
        "orders_a.csv": ORDERS + "A1,U1,2025-06-01,delivered,20.00\n",
        "order_items_a.csv": ITEMS + "A1,P1,2,10.00\n",
    },
    "b": {"orders_b.csv": ORDERS + "B1,U2,2025-06-02,delivered,5.00\n", "order_items_b.csv": ITEMS + "B1,P2,1,5.00\n"},
    "c": {"orders_c.csv": ORDERS + "C1,U3,2025-06-01,returned,5.00\n", "order_items_c.csv": ITEMS + "C1,P2,1,5.00\n"},
}


def _wait(log: Path, line: str, procs: list[subprocess.Popen], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while line not in log.read_text():
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_commits_of_disjoint_dates_rebuild_side_by_side_and_shared_dates_take_turns(
    emulator_url: str, tmp_path: Path
) -> None:
    res = Resources.from_settings(Settings(endpoint_url=emulator_url, bucket="ecompipe-local"))
    res.init()
    # the catalogue first, and the three batches validated, in this process: what runs in processes
    # of their own is the three commits
    run_manifest(res, record_manifest(res.bucket, put_files(res, {"products.csv": PRODUCTS})))
    ids = {}
    for name, files in BATCHES.items():
        manifest = record_manifest(res.bucket, put_files(res, {n: d.encode() for n, d in files.items()}))
        validate_task.run(res.settings, res.bucket, manifest.batch_id)
        ids[name] = manifest.batch_id
    other = res.leases().acquire("another-batch", "test")  # every commit waits for it at its last step
    logs = {name: tmp_path / f"{name}.log" for name in ids}
    procs = {}
    try:
        for name, batch_id in ids.items():
            with logs[name].open("w") as err:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "ecompipe", "task", "transform"],
                    cwd=ROOT,
                    env=_task_env(emulator_url, batch_id),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
        running = list(procs.values())
        _wait(logs["b"], "waiting for the commit lease held by run another-batch", running)
        deadline = time.monotonic() + 60
        while ("2025-06-01", "") not in (held := date_leases(res.leases())):  # a or c takes it first
            assert all(p.poll() is None for p in running) and time.monotonic() < deadline
            time.sleep(0.1)
        first_day = held[("2025-06-01", "")].run_id
        waiting = "c" if first_day == ids["a"] else "a"
        assert {first_day, held[("2025-06-02", "")].run_id} == {ids["b"], ids["a" if waiting == "c" else "c"]}
        _wait(logs[waiting], f"waiting for the date lease held by run {first_day}", running)
        ahead = "a" if waiting == "c" else "c"
        _wait(logs[ahead], "waiting for the commit lease held by run another-batch", running)
        # both dates rebuilt side by side, neither batch-wide step done (the commit lease is held)
        partitions = {o.key.split("/")[2] for o in res.bucket.list("curated/orders/")}
        assert partitions == {"order_date=2025-06-01", "order_date=2025-06-02"}
        assert not any(res.bucket.exists(layout.transform_report_key(batch_id)) for batch_id in ids.values())
        assert res.leases().release(other)
        archived: set[str] = set()
        deadline = time.monotonic() + 180
        while len(archived) < len(procs):  # each commit ends holding its leases until its archive
            assert time.monotonic() < deadline, {n: logs[n].read_text() for n in procs}
            for name, proc in procs.items():
                if name not in archived and proc.poll() is not None:
                    assert proc.returncode == 0, logs[name].read_text()
                    tasks.run("archive", res, TaskInput(ids[name], ids[name]))
                    archived.add(name)
            time.sleep(0.2)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    assert date_leases(res.leases()) == {} and res.leases().current() is None
    union = {"products.csv": PRODUCTS, **{n: d.encode() for files in BATCHES.values() for n, d in files.items()}}
    assert kpi_state(res) == one_shot_kpis(union)
