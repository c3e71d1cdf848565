"""The split of a large sales file (pure part): the file rules the workflow applies to small files."""

from __future__ import annotations

import pytest

from events.split import NO_ORDERS, NO_RECORDS, NOT_JSON, UNDECODABLE, orders_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", NOT_JSON),
        (b"\xff\xfe", NOT_JSON),  # UTF-16's mark and nothing after it
        (b'{"orders": [1]}\xff', UNDECODABLE),
        ("\ufeffx".encode("utf-32-le"), UNDECODABLE),
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


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])
def test_a_file_saved_with_a_byte_order_mark_is_read(codec: str) -> None:
    orders, problem = orders_of('{"orders": [{"order-info": {"OrderId": "Zoë"}}]}\r\n'.encode(codec))
    assert problem is None and orders == [{"order-info": {"OrderId": "Zoë"}}]


def test_records_of_any_shape_are_passed_on_for_the_consumer_to_judge() -> None:
    orders, problem = orders_of(b'{"orders": [{"order-info": {}}, 5, "x", null], "other": 1}')
    assert problem is None and orders == [{"order-info": {}}, 5, "x", None]


def test_large_files_are_batched_as_the_inline_path_would_send_them() -> None:
    import json

    from events.split import batches

    orders = [{"order-info": {"OrderId": str(i)}} for i in range(23)] + ["x" * 400_000, "y" * 400_000, "z" * 400_000]
    groups = batches(orders, "incoming/big.json")
    assert [len(g["entries"]) for g in groups] == [10, 10, 5, 1]  # 10 a batch, and under 1 MiB
    assert all(sum(len(e["MessageBody"]) for e in g["entries"]) < 1024 * 1024 for g in groups)
    first = json.loads(groups[0]["entries"][0]["MessageBody"])
    assert first == {"sales_record": orders[0], "source_file": "incoming/big.json", "source_index": 0}
    assert [e["Id"] for g in groups for e in g["entries"]] == [str(i) for i in range(26)]


def test_every_kind_of_parked_message_reads_as_records_with_their_source() -> None:
    import json

    from events.outbox import parked_views

    envelope = {"sales_record": {"order-info": {}}, "source_file": "incoming/a.json", "source_index": 4}
    kept = {"message_id": "m1", "reasons": [{"field": "contact_info", "reason": "is required"}],
            "body": json.dumps(envelope)}  # fmt: skip
    entries = [{"Id": "4", "MessageBody": json.dumps(envelope)}, {"Id": "5", "MessageBody": "oops"}]
    batch = {"reasons": [{"field": "batch", "reason": "could not be sent"}], "entries": entries}
    single = {"reasons": [], "record": {"a": 1}, "source_file": "incoming/b.json", "source_index": 0}
    assert [(v["file"], v["index"], v["record"]) for v in parked_views(json.dumps(kept))] == [
        ("incoming/a.json", 4, {"order-info": {}})
    ]
    assert [(v["file"], v["record"]) for v in parked_views(json.dumps(batch))] == [
        ("incoming/a.json", {"order-info": {}}),
        (None, "oops"),
    ]
    assert [(v["file"], v["record"]) for v in parked_views(json.dumps(single))] == [("incoming/b.json", {"a": 1})]
