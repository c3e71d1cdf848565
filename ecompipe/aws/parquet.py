"""DataFrames as Parquet objects in S3 (kept apart from ecompipe.aws.objects so the Lambda stays light)."""

from __future__ import annotations

import io
from collections.abc import Collection

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecompipe.aws.objects import Bucket
from ecompipe.core.arrow import note_of, table_with_note
from ecompipe.core.errors import ObjectMissing

CONTENT_TYPE = "application/vnd.apache.parquet"


def encode(frame: pd.DataFrame, note: dict[str, str] | None = None, plain: Collection[str] = ()) -> bytes:
    """A frame as Parquet bytes (zstd, no pandas index), with `note` in the file's own metadata.
    `plain`: columns of about one value a row, written as they are rather than as a dictionary of
    their values (which only costs them time to write and read, and size after compression)."""
    table = table_with_note(frame, note)
    dictionary = [c for c in table.column_names if c not in plain] if plain else True
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=dictionary)
    return sink.getvalue()


def put_frame(bucket: Bucket, key: str, frame: pd.DataFrame, note: dict[str, str] | None = None) -> str:
    """Write a frame as Parquet (`encode`), with `note` in the file's own metadata (written with the
    rows in one object, so never out of step with them); returns the ETag."""
    return bucket.put_bytes(key, encode(frame, note), CONTENT_TYPE)


def get_frame_and_note(bucket: Bucket, key: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """A frame written by put_frame and the note written with it."""
    table = decode(bucket.get_bytes(key))
    return table.to_pandas(), note_of(table)


def get_frame(bucket: Bucket, key: str, columns: list[str] | None = None) -> pd.DataFrame:
    return decode(bucket.get_bytes(key), columns).to_pandas()


def decode(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """Parquet bytes as a table (these columns, or all). Read as the one file it is: pq.read_table
    would build a dataset around it first, which takes longer than reading a small part."""
    return pq.ParquetFile(io.BytesIO(data)).read(columns=columns)


def get_frame_or_none(bucket: Bucket, key: str) -> pd.DataFrame | None:
    try:
        return get_frame(bucket, key)
    except ObjectMissing:
        return None
