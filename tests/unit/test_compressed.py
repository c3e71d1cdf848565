"""gzip-compressed CSV (validator.compressed): read like plain CSV; the size limit counts the bytes
it expands to; anything that is not a whole gzip file is rejected with its reason."""

from __future__ import annotations

import gzip

import pytest

from ecompipe.core import layout
from validator import reasons
from validator.compressed import expand
from validator.files import parse_file
from validator.model import InputFile
from validator.reading import MalformedFile

pytestmark = pytest.mark.unit
CSV = b"order_id,user_id,order_date,total_amount,status\n1,5,2025-06-01,25.50,delivered\n"


def test_every_member_of_a_multi_member_file_is_read() -> None:
    assert expand("o.csv.gz", gzip.compress(CSV[:20]) + gzip.compress(CSV[20:]) + b"\0\0") == CSV


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "ends early"), (b"plain text", "incorrect header"), (gzip.compress(CSV, mtime=0)[:-9], "ends early")],
    ids=["empty", "not gzip", "cut short"],  # (named: a gzip header holds a time, and ids must match per worker)
)
def test_what_is_not_a_whole_gzip_file_is_refused_with_its_reason(data: bytes, why: str) -> None:
    with pytest.raises(MalformedFile) as refused:
        expand("o.csv.gz", data)
    assert refused.value.reason == reasons.BAD_COMPRESSION and why in refused.value.message


def test_expanding_stops_one_byte_past_the_limit() -> None:
    bomb = gzip.compress(b"0" * 50_000_000)  # 48 KiB that expand to 50 MB
    with pytest.raises(MalformedFile) as refused:
        expand("o.csv.gz", bomb, max_bytes=2**20)
    assert refused.value.reason == reasons.FILE_TOO_LARGE and "expands to more than 1.0 MiB" in refused.value.message
    assert expand("o.csv.gz", gzip.compress(CSV), max_bytes=len(CSV)) == CSV  # exactly the limit is fine


def test_a_gzipped_file_parses_to_the_rows_of_the_plain_one() -> None:
    plain = parse_file(InputFile("incoming/orders_a.csv", CSV))
    packed = parse_file(InputFile("incoming/orders_a.csv.gz", gzip.compress(CSV)))
    assert packed.kind == plain.kind == "orders" and packed.malformed is None
    assert packed.frame.equals(plain.frame)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("orders_b.csv.gz", "orders"), ("ORDER_ITEMS_1.CSV.GZ", "order_items"), ("products.csv.gz", "products")],
)
def test_a_compressed_name_has_the_kind_of_its_csv(name: str, kind: str) -> None:
    assert layout.kind_of(name) == kind and layout.is_csv(name) and not layout.is_sales_file(name)
    assert layout.kind_of(name + ".zip") is None and not layout.is_csv("orders_b.csv.zip")
