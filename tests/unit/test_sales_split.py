"""The split of a large sales file (pure part): the file rules the workflow applies to small files."""

from __future__ import annotations

import pytest

from events.split import NO_ORDERS, NO_RECORDS, NOT_JSON, orders_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", NOT_JSON),
        (b"\xff\xfe", NOT_JSON),
        (b'{"sales": []}', NO_ORDERS),
        (b"[1, 2]", NO_ORDERS),
        (b"7", NO_ORDERS),
        (b'{"orders": []}', NO_RECORDS),
        (b'{"orders": "many"}', NO_RECORDS),
        (b'{"orders": {"0": 1}}', NO_RECORDS),
    ],
)
def test_a_malformed_file_says_why(data: bytes, reason: str) -> None:
    orders, problem = orders_of(data)
    assert orders is None and problem is not None and problem["reason"] == reason and problem["message"]


def test_records_of_any_shape_are_passed_on_for_the_consumer_to_judge() -> None:
    orders, problem = orders_of(b'{"orders": [{"order-info": {}}, 5, "x", null], "other": 1}')
    assert problem is None and orders == [{"order-info": {}}, 5, "x", None]
