"""A fanned-out batch validated shard by shard: the validate-shard task (one shard of every part,
validator.batch.validate_shard) and the validate task's reading of what the shard tasks took,
which it merges (validator.outcome.merged) instead of validating the batch itself.

A shard's outcome names what it was taken from: the parts (each file's key and ETag), the shard
count, the day it judged order dates by and the pending set's ETag it read. The validate task
uses the shards' outcomes only when every shard left one that names exactly what it would read
itself; otherwise it validates the batch whole, from the parts. So a shard task, like a
parse-file task, is an accelerator, never a dependency.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from ecompipe.aws import parquet, transient
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.manifests import Manifest
from ecompipe.aws.objects import Bucket, ObjectInfo, side_by_side
from ecompipe.core import fan_layout, layout
from validator import parts, shards
from validator.batch import InputFile, Known, validate_shard
from validator.model import ParsedFile
from validator.outcome import Taken


def validate_one(bucket: Bucket, manifest: Manifest, shard: int, readable: list[ObjectInfo], now: datetime) -> dict:
    """The validate-shard task: validate shard `shard` of the batch from its parts and store what
    it took. `readable`: the manifest's files that are not rejected unread (too large). A shard
    that cannot be validated on its own (a file without its part; items keyed by ids of their own,
    which another order in another shard may repeat) stores nothing and says why."""
    batch_id, count = manifest.batch_id, manifest.shards()
    if not 0 <= shard < count:
        return {"shard": shard, "done": False, "why": f"batch {batch_id} is validated in {count} shards"}
    pending_head = bucket.head(layout.PENDING_ITEMS_KEY)  # (before the set, as validation reads it)
    with tempfile.TemporaryDirectory(prefix="ecompipe-shard-") as directory:
        found = parts.read_all(bucket, batch_id, readable, directory, shard, count)
        why = _why_not(found, readable, count)
        if why:
            return {"shard": shard, "done": False, "why": why}
        curated = CuratedStore(bucket)
        known = Known(product_ids=curated.known_product_ids(), find_orders=curated.known_orders)
        before = shards.rows_of_shard(parquet.get_frame_or_none(bucket, layout.PENDING_ITEMS_KEY), shard, count)
        files = [InputFile(f.key, None, f.size) for f in manifest.files]
        today = now.date().isoformat()
        taken = validate_shard(files, found, known, before, today=today, first=shard == 0)
    stamp = _stamp(readable, count, today, pending_head.etag if pending_head else None)
    _put(bucket, batch_id, shard, taken, stamp)
    return {"shard": shard, "done": True, "rows_accepted": sum(taken.accepted.values())}


@dataclass
class ByShards:
    """What the shards' tasks took (their accepted rows left where they are: `staged`, the objects
    of each kind)."""

    taken: list[Taken]
    staged: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.taken)


def taken_by_shards(
    bucket: Bucket, manifest: Manifest, readable: list[ObjectInfo], today: str, pending_etag: str | None
) -> ByShards | None:
    """What every shard's task took, when each left an outcome taken from exactly these parts,
    on this day and against this pending set; None otherwise (the batch is then validated whole)."""
    count = manifest.shards()
    wanted = _stamp(readable, count, today, pending_etag)
    docs = []
    for s in range(count):
        doc = bucket.get_json_or_none(fan_layout.shard_key(manifest.batch_id, s, "outcome"))
        if doc is None or doc.get("stamp") != wanted:
            return None
        docs.append(doc)
    taken = side_by_side(lambda s: _read(bucket, manifest.batch_id, s, docs[s]), list(range(count)))
    staged = {
        k: [fan_layout.shard_key(manifest.batch_id, s, k) for s in range(count) if k in docs[s]["staged"]]
        for k in layout.KINDS
    }
    return ByShards(taken, staged)


def _why_not(found: dict[str, ParsedFile], readable: list[ObjectInfo], count: int) -> str | None:
    missing = [f.key for f in readable if f.key not in found]
    if missing:  # (none written, or split into another shard count)
        return f"{missing[0]} has no part in {count} shards: the batch is validated whole"
    if any(p.spilled is not None and p.spilled.item_ids for p in found.values()):
        return "its items have ids of their own, which an order of another shard may repeat: validated whole"
    return None


def _stamp(readable: list[ObjectInfo], count: int, today: str, pending_etag: str | None) -> dict:
    return {
        "parts": {f.key: f.etag for f in readable},
        "shards": count,
        "today": today,
        "pending_etag": pending_etag,
    }


def _put(bucket: Bucket, batch_id: str, shard: int, taken: Taken, stamp: dict) -> None:
    """A shard's takings, the outcome (JSON) last: it completes them."""
    ids = pd.DataFrame(
        {
            "id": pd.concat([pd.Series(taken.order_ids, dtype="str"), pd.Series(taken.product_ids, dtype="str")]),
            "of": ["order"] * len(taken.order_ids) + ["product"] * len(taken.product_ids),
        }
    )
    frames = {
        "failures": taken.failures,
        "held": taken.held,
        "brought": pd.DataFrame({"item_key": taken.brought.reset_index(drop=True)}),
        "ids": ids.reset_index(drop=True),
        **taken.staged,
    }
    transient.put_frames(bucket, {fan_layout.shard_key(batch_id, shard, k): f for k, f in frames.items()})
    doc = {"stamp": stamp, "accepted": taken.accepted, "warned": taken.warned, "staged": sorted(taken.staged)}
    bucket.put_json(fan_layout.shard_key(batch_id, shard, "outcome"), json.loads(json.dumps(doc, default=int)))


def _read(bucket: Bucket, batch_id: str, shard: int, doc: dict) -> Taken:
    def frame(what: str) -> pd.DataFrame:
        return transient.get_frame(bucket, fan_layout.shard_key(batch_id, shard, what))

    ids = frame("ids")
    return Taken(
        failures=frame("failures"),
        held=frame("held"),
        brought=frame("brought")["item_key"],
        accepted={k: int(n) for k, n in doc["accepted"].items()},
        warned=doc["warned"],
        order_ids=pd.Index(ids["id"][ids["of"] == "order"], dtype="str"),
        product_ids=pd.Index(ids["id"][ids["of"] == "product"], dtype="str"),
    )  # (its accepted rows are read where they are: ecompipe.aws.staged)
