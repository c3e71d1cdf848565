"""Row level, references and the report: the validator's pure core, no AWS."""

from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import NOW
from validator import reasons
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.unit

ORDERS = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = b"product_id,category,name,price\n1,Books,A,10.00\n2,Toys,B,5.50\n"


def _run(files: dict[str, bytes], known: Known | None = None, pending: pd.DataFrame | None = None, now=NOW):
    inputs = [InputFile(f"incoming/{name}", data) for name, data in files.items()]
    return validate_batch("b-test", inputs, known or Known(), pending, now=now)


def _file(report: dict, name: str) -> dict:
    return next(f for f in report["files"] if f["file"] == f"incoming/{name}")


def _assert_rows_add_up(report: dict) -> None:
    for f in report["files"]:
        assert f["rows_read"] == f["accepted"] + f["rejected"] + f["pending"], f["file"]


@pytest.mark.parametrize(
    ("row", "reason", "column"),
    [
        (b"2,7,2025-06-02,abc,delivered", reasons.UNPARSABLE_NUMBER, "total_amount"),
        (b"2,7,2025-06-31,1.00,delivered", reasons.UNPARSABLE_DATE, "order_date"),
        (b"2,,2025-06-02,1.00,delivered", reasons.MISSING_VALUE, "user_id"),
        (b"2,7,2025-06-02,-1.00,delivered", reasons.NEGATIVE_AMOUNT, "total_amount"),
        (b"2,7,2025-06-02,1.00,lost", reasons.UNKNOWN_STATUS, "status"),
        (b"2,7,2026-11-23,1.00,delivered", reasons.FUTURE_DATE, "order_date"),
        (b"1,7,2025-06-02,1.00,delivered", reasons.DUPLICATE_KEY, "order_id"),
        (b"2,7,2025-06-02,1.00", reasons.RAGGED_ROW, None),
    ],
)
def test_each_bad_order_row_is_rejected_with_its_reason_and_the_rest_goes_on(
    row: bytes, reason: str, column: str | None
) -> None:
    orders = ORDERS + b"1,5,2025-06-01,10.00,Delivered \n" + row + b"\n3,6,2025-06-03,5.50,cancelled\n"
    result = _run({"orders_a.csv": orders})
    f = _file(result.report, "orders_a.csv")
    assert (f["rows_read"], f["accepted"], f["rejected"], f["pending"]) == (3, 2, 1, 0)
    assert f["reasons"] == {reason: 1}
    example = f["examples"][reason][0]
    assert (example["line"], example["column"]) == (3, column)
    assert sorted(result.staged["orders"]["order_id"]) == ["1", "3"]
    rejected = result.rejected_rows["orders_a.csv"]
    assert rejected["line"].tolist() == [3] and rejected["reason"].tolist() == [reason]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"1,2,0,5.50", reasons.QUANTITY_BELOW_1),
        (b"1,2,-3,5.50", reasons.QUANTITY_BELOW_1),
        (b"1,2,1.5,5.50", reasons.UNPARSABLE_NUMBER),
        (b"1,2,1,-0.01", reasons.NEGATIVE_AMOUNT),
        (b"1,2,1,", reasons.MISSING_VALUE),
        (b"1,2,1,NaN", reasons.UNPARSABLE_NUMBER),
        (b"1,1,1,10.00", reasons.DUPLICATE_KEY),
    ],
)
def test_each_bad_item_row_is_rejected(row: bytes, reason: str) -> None:
    result = _run(
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,21.00,delivered\n",
            "order_items_a.csv": ITEMS + b"1,1,1,10.00\n" + row + b"\n",
            "products.csv": PRODUCTS,
        }
    )
    f = _file(result.report, "order_items_a.csv")
    assert (f["accepted"], f["rejected"], f["pending"]) == (1, 1, 0)
    assert list(f["reasons"]) == [reason]
    _assert_rows_add_up(result.report)


def test_a_row_with_several_problems_is_rejected_once_with_every_reason() -> None:
    result = _run({"orders_a.csv": ORDERS + b"1,,2025-99-01,x,lost\n"})
    f = _file(result.report, "orders_a.csv")
    assert f["rejected"] == 1
    assert set(f["reasons"]) == {reasons.UNPARSABLE_DATE, reasons.UNPARSABLE_NUMBER}
    assert result.rejected_rows["orders_a.csv"]["reason"].iloc[0].count(";") == 1


def test_duplicate_keys_across_files_keep_the_first() -> None:
    result = _run(
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,1.00,delivered\n",
            "orders_b.csv": ORDERS + b"1,6,2025-06-02,2.00,returned\n",
        }
    )
    assert _file(result.report, "orders_b.csv")["reasons"] == {reasons.DUPLICATE_KEY: 1}
    assert result.staged["orders"]["user_id"].tolist() == ["5"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("orders_empty.csv", b"", reasons.EMPTY_FILE),
        ("orders_bad.csv", b"order_id,user_id\n\xff\n", reasons.UNDECODABLE),
        ("orders_cols.csv", b"order_id,user_id,status\n1,2,delivered\n", reasons.MISSING_COLUMN),
        ("orders_dup.csv", b"order_id,order_id,user_id,order_date,status\n", reasons.DUPLICATE_HEADER),
        ("orders_quote.csv", b'order_id,user_id,order_date,status\n1,"2,2025-01-01,x\n', reasons.UNPARSABLE_CSV),
        ("customers.csv", b"id,name\n1,x\n", reasons.UNRECOGNISED_FILE),
    ],
)
def test_malformed_files_are_rejected_whole_and_the_others_go_on(name: str, data: bytes, reason: str) -> None:
    result = _run({name: data, "orders_good.csv": ORDERS + b"1,5,2025-06-01,1.00,delivered\n"})
    f = _file(result.report, name)
    assert f["status"] == "rejected" and f["error"]["reason"] == reason
    assert f"incoming/{name}" in result.malformed
    assert result.report["totals"]["accepted"] == 1


def test_header_only_file_is_valid_with_zero_rows() -> None:
    f = _file(_run({"orders_h.csv": ORDERS}).report, "orders_h.csv")
    assert (f["status"], f["rows_read"], f["accepted"]) == ("ok", 0, 0)


def test_unknown_order_or_product_goes_to_pending_and_resolves_later() -> None:
    first = _run(
        {
            "order_items_a.csv": ITEMS + b"7,1,1,10.00\n8,99,2,1.00\n",
            "orders_a.csv": ORDERS + b"8,5,2025-06-01,2.00,delivered\n",
            "products.csv": PRODUCTS,
        }
    )
    f = _file(first.report, "order_items_a.csv")
    assert (f["accepted"], f["pending"]) == (0, 2)
    assert f["reasons"] == {reasons.UNKNOWN_ORDER: 1, reasons.UNKNOWN_PRODUCT: 1}
    shown = {r: [(e["line"], e["column"], e["value"]) for e in found] for r, found in f["examples"].items()}
    assert shown == {reasons.UNKNOWN_ORDER: [(2, "order_id", "7")], reasons.UNKNOWN_PRODUCT: [(3, "product_id", "99")]}
    assert len(first.pending) == 2

    known = Known(pd.Index(["8"]), pd.Index(["1", "2"]))
    second = _run(
        {
            "orders_b.csv": ORDERS + b"7,5,2025-06-02,10.00,delivered\n",
            "products_2.csv": b"product_id,category,price\n99,Books,1.00\n",
        },
        known=known,
        pending=first.pending,
        now=NOW + timedelta(days=1),
    )
    assert second.staged["order_items"].empty  # its own: none; the held ones it resolves are committed with it
    assert sorted(second.resolved["item_key"]) == ["7/1", "8/99"]
    assert second.report["pending"]["resolved"] == 2 and second.pending.empty
    assert second.report["outcome"]["has_work"]


def test_pending_items_expire_after_the_maximum_age() -> None:
    first = _run({"order_items_a.csv": ITEMS + b"7,1,1,10.00\n", "products.csv": PRODUCTS})
    later = _run({"products.csv": PRODUCTS}, pending=first.pending, now=NOW + timedelta(days=8))
    assert later.expired["reason"].tolist() == [f"{reasons.PENDING_EXPIRED}: {reasons.UNKNOWN_ORDER}"]
    assert later.pending.empty and later.report["pending"]["expired"] == 1
    soon = _run({"products.csv": PRODUCTS}, pending=first.pending, now=NOW + timedelta(days=6))
    assert len(soon.pending) == 1 and soon.expired.empty


def test_consistency_problems_are_warnings_not_rejections() -> None:
    result = _run(
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,99.00,delivered\n",
            "order_items_a.csv": ITEMS + b"1,1,2,10.00\n",
            "products.csv": PRODUCTS,
        }
    )
    assert result.report["totals"]["rejected"] == 0
    assert result.report["warnings"]["by_type"] == {"total_amount_mismatch": 1}
    thelook = _run(
        {
            "orders_t.csv": b"order_id,user_id,status,created_at,num_of_item\n1,5,delivered,2025-06-01T10:00:00,3\n",
            "order_items_t.csv": b"id,order_id,product_id,sale_price\n1,1,1,10.00\n",
            "products.csv": PRODUCTS,
        }
    )
    assert thelook.report["warnings"]["by_type"] == {"num_of_item_mismatch": 1}


def test_report_examples_are_truncated_and_escaped() -> None:
    crafted = "lost\nERROR forged log line" + "x" * 200
    result = _run({"orders_a.csv": ORDERS + f'1,5,2025-06-01,1.00,"{crafted}"\n'.encode()})
    value = _file(result.report, "orders_a.csv")["examples"][reasons.UNKNOWN_STATUS][0]["value"]
    assert value.startswith("lost\\x0aERROR forged")
    assert "\n" not in value and value.endswith(f"({len(crafted)} chars)") and len(value) < 120


def test_rows_add_up_on_the_public_data(lab_dir) -> None:
    files = {p.name: p.read_bytes() for p in sorted(lab_dir.rglob("*.csv"))}
    result = _run(files)
    _assert_rows_add_up(result.report)
    assert result.report["totals"] == {
        "rows_read": 46007,
        "accepted": 46007,
        "rejected": 0,
        "pending": 0,
        "files": 26,
        "rejected_files": 0,
    }
