"""`ecompipe run` never loses an upload (docs/trigger.md, "Uploads"): two shops' exports under the
same names, run at once against one emulator, both count; a folder's gzipped CSV is read and its
other files are named as not taken (tests/unit/test_accounting.py: what makes a run exit 1)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import ecompipe, start_run

pytestmark = pytest.mark.e2e
PRODUCTS = "product_id,category,name,price\nP1,Books,A,10.00\nP2,Toys,B,5.50\n"


def _shop(folder: Path, prefix: str, orders: int, day: str = "2025-06-01") -> Path:
    """One shop's export: `orders` orders of `day`, one item each, under the shared names."""
    folder.mkdir()
    ids = [f"{prefix}{i}" for i in range(orders)]
    (folder / "orders_same.csv").write_text(
        "order_id,user_id,order_date,total_amount,status\n" + "".join(f"{o},U{o},{day},10.00,delivered\n" for o in ids)
    )
    (folder / "order_items_same.csv").write_text(
        "order_id,product_id,quantity,unit_price\n" + "".join(f"{o},P1,1,10.00\n" for o in ids)
    )
    (folder / "products.csv").write_text(PRODUCTS)
    return folder


def test_two_runs_with_the_same_names_at_once_and_a_gzipped_csv(tmp_path: Path, emulator_url: str) -> None:
    runs = [
        start_run(_shop(tmp_path / "a", "A", 150), emulator_url),
        start_run(_shop(tmp_path / "b", "B", 150), emulator_url),
    ]
    for proc in runs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "150 accepted" in err or '"total_orders"' in out, err
    kpis = json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout)
    [day] = kpis["order_kpis"]
    assert (day["order_date"], day["total_orders"], day["total_revenue"]) == ("2025-06-01", 300, "3000.00")

    # then, on the same emulator, a folder with a gzipped CSV and a file that is no CSV
    folder = _shop(tmp_path / "shop", "G", 20, day="2025-06-02")
    plain = folder / "orders_same.csv"
    (folder / "orders_b.csv.gz").write_bytes(gzip.compress(plain.read_bytes().replace(b"\nG", b"\nH")))
    (folder / "notes.txt").write_text("exported by hand\n")
    run = ecompipe("run", str(folder), "--endpoint-url", emulator_url, "--output", "json")
    assert "uploaded 4 files" in run.stderr
    assert f"not taken: {folder / 'notes.txt'} (not a .csv, .csv.gz or .json file)" in run.stderr
    [day] = json.loads(run.stdout)["order_kpis"]
    assert (day["order_date"], day["total_orders"]) == ("2025-06-02", 40)  # 20 plain, 20 gzipped
