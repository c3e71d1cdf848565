"""DataFrames as Parquet objects in S3 (kept apart from ecompipe.aws.objects so the Lambda stays light)."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecompipe.aws.objects import Bucket
from ecompipe.core.errors import ObjectMissing


def put_frame(bucket: Bucket, key: str, frame: pd.DataFrame) -> str:
    """Write a frame as Parquet (zstd, no pandas index); returns the ETag."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return bucket.put_bytes(key, sink.getvalue(), "application/vnd.apache.parquet")


def get_frame(bucket: Bucket, key: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(bucket.get_bytes(key)), columns=columns).to_pandas()


def get_frame_or_none(bucket: Bucket, key: str) -> pd.DataFrame | None:
    try:
        return get_frame(bucket, key)
    except ObjectMissing:
        return None
