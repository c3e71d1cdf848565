"""Issue 13, class 4: whatever a cell holds, what we print is literal and what we export for
spreadsheets cannot run (the real CLI against moto's server)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import ecompipe

pytestmark = pytest.mark.e2e

HOSTILE = [
    "[/]",
    "[bold]loud",
    ":thumbs_up:",
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "esc\x1b[31mred",
]


def _write(directory: Path) -> None:
    directory.mkdir()
    products = "product_id,category,name,price\n" + "".join(
        f'p{i},"{c.replace(chr(34), chr(34) * 2)}",n{i},1.00\n' for i, c in enumerate(HOSTILE)
    )
    (directory / "products.csv").write_text(products)
    (directory / "orders_[red]1.csv").write_text(
        "order_id,user_id,order_date,total_amount,status\no1,u1,2025-06-01,,delivered\n"
    )
    items = "order_id,product_id,quantity,unit_price\n" + "".join(f"o1,p{i},1,2.00\n" for i in range(len(HOSTILE)))
    # rejected rows whose cells are hostile too ('[/]' as a bad price, a formula as a bad quantity)
    items += "o1,p0,1,[/]\no1,p1,\"=cmd|' /C calc'!A0\",1.00\n"
    (directory / "order_items_1.csv").write_text(items)


def test_hostile_values_print_literally_and_csv_neutralises_formulas(tmp_path: Path, emulator_url: str) -> None:
    _write(tmp_path / "data")
    run = ecompipe("run", str(tmp_path / "data"), "--endpoint-url", emulator_url)
    for category in HOSTILE:
        assert category.replace("\x1b", "\\x1b") in run.stdout, category
    assert "\x1b" not in run.stdout  # the escape sequence is shown, never sent to the terminal
    assert "17 accepted, 2 rejected" in run.stdout  # 8 products, 1 order, 8 items
    assert "orders_[red]1.csv" in run.stderr  # the file table

    as_json = json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert sorted(r["category"] for r in as_json["category_kpis"]) == sorted(HOSTILE)  # exact values

    as_csv = ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "csv").stdout
    categories = [row["category"] for row in csv.DictReader(io.StringIO(as_csv.split("\n\n")[1]))]
    neutral = {c if c[0] not in "=+-@" else "'" + c for c in HOSTILE}
    assert set(categories) == neutral
    assert not any(c.startswith(("=", "+", "-", "@")) for c in categories)

    batch = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)[0]["batch_id"]
    report = ecompipe("report", batch, "--endpoint-url", emulator_url)
    assert "[/]" in report.stdout and "unparsable_number" in report.stdout

    s3 = boto3.client(
        "s3",
        endpoint_url=emulator_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    body = s3.get_object(Bucket="ecompipe-local", Key=f"rejected/{batch}/rows/order_items_1.csv")["Body"].read()
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["quantity"] for r in rows] == ["1", "'=cmd|' /C calc'!A0"]

    validated = ecompipe("validate", str(tmp_path / "data"), check=False)
    assert validated.returncode == 0, validated.stderr
    assert "orders_[red]1.csv" in validated.stdout and "17 accepted, 2 rejected" in validated.stdout
