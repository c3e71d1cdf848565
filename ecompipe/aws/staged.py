"""A validated batch's staged rows of a kind (its accepted orders, items or products), read by the
transform and the commit: one object (ecompipe.core.layout.staging_key), or, for a batch validated
shard by shard, the objects its validate-shard tasks wrote, which the validate task names in
staged_shards.json instead of copying them into one (ecompipe.core.fan_layout). Either way a
reader gets every staged row of the kind once; rows of several shards come shard after shard."""

from __future__ import annotations

import pandas as pd

from ecompipe.aws import transient
from ecompipe.aws.objects import Bucket
from ecompipe.core import fan_layout, layout
from ecompipe.core.errors import ObjectMissing


def _shards_of(bucket: Bucket, batch_id: str, kind: str) -> list[str]:
    """The shards' objects of `kind`, when the batch's staged rows are theirs (else ObjectMissing)."""
    return list(bucket.get_json(fan_layout.staged_shards_key(batch_id))[kind])


def name_shards(bucket: Bucket, batch_id: str, by_kind: dict[str, list[str]]) -> None:
    """Record the shards' objects as the batch's staged rows (and no single object of any kind)."""
    for kind in by_kind:
        bucket.delete(layout.staging_key(batch_id, kind))
    bucket.put_json(fan_layout.staged_shards_key(batch_id), by_kind)


def name_one(bucket: Bucket, batch_id: str) -> None:
    """The batch's staged rows are one object per kind again (a later validation of it wrote them)."""
    bucket.delete(fan_layout.staged_shards_key(batch_id))


def read(
    bucket: Bucket, batch_id: str, kind: str, columns: list[str] | None = None, categories: bool = False
) -> pd.DataFrame:
    """Every staged row of `kind` (only `columns`, when given; `categories`: a column staged as a
    category stays one, for a reader that only passes it on: ecompipe.aws.transient)."""
    try:  # (one object: the common case costs one read)
        return transient.get_frame(bucket, layout.staging_key(batch_id, kind), columns, categories)
    except ObjectMissing:
        found = _shards_of(bucket, batch_id, kind)
    return transient.get_tables(bucket, found, columns, categories)  # (stacked in Arrow: one conversion)
