"""A sales file too large for one state's payload, made readable by a Distributed Map: its records
in batches of SendMessageBatch entries, as one JSON array (an ItemReader reads arrays only; moto has
no ItemBatcher), and what was found, in S3. The same file-level
rules as the workflow's own checks: JSON, an "orders" list, at least one record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout, layout, taskenv, text
from ecompipe.core.errors import SettingsError
from ecompipe.core.settings import Settings

NOT_JSON, NO_ORDERS, NO_RECORDS, UNDECODABLE = "not_json", "no_orders_list", "no_records", "undecodable"
# one child execution sends one SendMessageBatch: at most 10 messages and 1 MiB (SQS's limits)
BATCH_RECORDS = 10
BATCH_BYTES = 1024 * 1024 - 16 * 1024


def orders_of(data: bytes) -> tuple[list[Any] | None, dict[str, str] | None]:
    """(the records, None) or (None, {"reason", "message"}) for a sales file's bytes: UTF-8 with
    or without its mark, or UTF-16 by its mark (ecompipe.core.text)."""
    try:
        decoded = text.decode(data)
    except text.Undecodable as exc:
        return None, {"reason": UNDECODABLE, "message": f"the file is not text: {exc}"}
    try:
        doc = json.loads(decoded)
    except (ValueError, RecursionError) as exc:
        return None, {"reason": NOT_JSON, "message": f"the file is not JSON ({str(exc)[:120]})"}
    if not isinstance(doc, dict) or "orders" not in doc:
        return None, {"reason": NO_ORDERS, "message": 'the file is not an object with an "orders" list'}
    orders = doc["orders"]
    if not isinstance(orders, list) or not orders:
        return None, {"reason": NO_RECORDS, "message": '"orders" holds no records (it is empty, or not a list)'}
    return orders, None


def batches(orders: list[Any], key: str, run: str = "") -> list[dict[str, Any]]:
    """The records as SendMessageBatch entries, in batches a child execution sends at once: each
    entry's body is the envelope the consumer reads ({"sales_record", "source_file",
    "source_index", "source_run"}: the execution), the same as the INLINE path sends one by one."""
    out: list[dict[str, Any]] = []
    entries: list[dict[str, str]] = []
    size = 0
    for index, record in enumerate(orders):
        envelope = {"sales_record": record, "source_file": key, "source_index": index}
        body = json.dumps({**envelope, "source_run": run} if run else envelope)
        if entries and (len(entries) == BATCH_RECORDS or size + len(body.encode()) > BATCH_BYTES):
            out.append({"entries": entries})
            entries, size = [], 0
        entries.append({"Id": str(index), "MessageBody": body})
        size += len(body.encode())
    if entries:
        out.append({"entries": entries})
    return out


def split(bucket: Bucket, key: str, run: str = "") -> dict[str, Any]:
    """Write the record batches and the outcome for the file at `key` (in execution `run`);
    returns the outcome."""
    orders, problem = orders_of(bucket.get_bytes(key))
    if problem is not None:
        outcome: dict[str, Any] = problem
    else:
        records_key = event_layout.sales_records_key(key)
        groups = batches(orders or [], key, run)
        bucket.put_bytes(records_key, json.dumps(groups).encode(), "application/json")
        outcome = {"records": len(orders or []), "batches": len(groups), "records_key": records_key}
    bucket.put_json(event_layout.sales_outcome_key(key), outcome)
    return outcome


def run_task(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    """The container command `ecompipe task sales-split`: the file named by ECOMPIPE_SALES_KEY."""
    key = env.get(taskenv.SALES_KEY, "")
    if not key.startswith(layout.INCOMING):
        raise SettingsError(f"{taskenv.SALES_KEY} must name a file under {layout.INCOMING}, not {key!r}")
    bucket = env.get(taskenv.BUCKET) or settings.bucket
    return split(Bucket(aws.client("s3", settings), bucket), key, env.get(taskenv.SALES_RUN, ""))
