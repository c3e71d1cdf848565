"""Frames that live only while a run does (the staged batch and its pending set, a fanned-out
run's parts and plan slices; all deleted with the batch's staging/ at the archive) as Arrow IPC
files in S3, zstd-compressed. Measured on a 300k-row part: written in 0.10 s against Parquet's
0.23 s at about the same size (7 against 6 MiB) and read back in half the time. What others read
(the curated store, for Athena and DuckDB) stays Parquet (ecompipe.aws.parquet)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from ecompipe.aws.objects import Bucket, side_by_side
from ecompipe.core.arrow import note_of, table_with_note
from ecompipe.core.errors import ObjectMissing


def put_frame(bucket: Bucket, key: str, frame: pd.DataFrame | pa.Table, note: dict[str, str] | None = None) -> str:
    """Write a frame (no pandas index) or a table, with `note` in the file's own schema metadata; the ETag."""
    sink = io.BytesIO()
    # one record batch: a reader gets each column in one chunk (ecompipe.core.arrow.contiguous)
    table = table_with_note(frame, note).combine_chunks()
    feather.write_feather(table, sink, compression="zstd", chunksize=max(table.num_rows, 1))
    return bucket.put_bytes(key, sink.getvalue(), "application/vnd.apache.arrow.file")


def put_frames(bucket: Bucket, frames: Mapping[str, pd.DataFrame | pa.Table]) -> dict[str, str]:
    """put_frame for each key, several at a time; the ETag of each."""
    etags = side_by_side(lambda key: put_frame(bucket, key, frames[key]), list(frames))
    return dict(zip(frames, etags, strict=True))


def get_frame_and_note(
    bucket: Bucket, key: str, columns: list[str] | None = None, categories: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    """A frame written by put_frame (only `columns`, when given) and the note written with it
    (ObjectMissing when absent); `categories`: see _text_for_dictionaries."""
    table = _read(bucket, key, columns)
    return _text_for_dictionaries(table, categories).to_pandas(), note_of(table)


def get_tables(
    bucket: Bucket, keys: list[str], columns: list[str] | None = None, categories: bool = False
) -> pd.DataFrame:
    """Frames written by put_frame with the same columns, read side by side and made one frame in
    Arrow (one conversion to pandas, not one per object and a concat of them). `categories`: a
    column written as a category stays one (see _text_for_dictionaries)."""
    tables = side_by_side(lambda key: get_table(bucket, key, columns, categories), keys)
    table = pa.concat_tables(tables, promote_options="permissive")
    if categories:
        table = table.unify_dictionaries()
    with contextlib.suppress(pa.ArrowInvalid):  # (more text than 32-bit offsets address: left in chunks)
        table = table.combine_chunks()  # later takes and masks resolve rows chunk by chunk
    return table.to_pandas()


def _text_for_dictionaries(table: pa.Table, categories: bool = False) -> pa.Table:
    """A column written as a category (Arrow's dictionary: the validator's file column) comes back
    as the text it stands for, so a reader sees what it would have seen had it been written as
    text; writing the codes spares the writer the text (10M rows: ~0.9 GiB). With `categories`
    (a reader that only passes the column on) it stays a category, with 32-bit codes (several
    objects' then stack, their dictionaries unified: one pandas categorical)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            wanted = pa.dictionary(pa.int32(), field.type.value_type) if categories else field.type.value_type
            table = table.set_column(i, pa.field(field.name, wanted), table.column(i).cast(wanted))
    return table


def get_table(bucket: Bucket, key: str, columns: list[str] | None = None, categories: bool = False) -> pa.Table:
    """A frame written by put_frame, as an Arrow table (a reader of one value, such as a file's
    text, takes it without a pandas frame's copy); ObjectMissing when absent."""
    return _text_for_dictionaries(_read(bucket, key, columns), categories)


def _read(bucket: Bucket, key: str, columns: list[str] | None = None) -> pa.Table:
    """The table put_frame wrote, as written (its categories as Arrow dictionaries, its note)."""
    return feather.read_table(io.BytesIO(bucket.get_bytes(key)), columns=columns)


def get_frame(bucket: Bucket, key: str, columns: list[str] | None = None, categories: bool = False) -> pd.DataFrame:
    return get_frame_and_note(bucket, key, columns, categories)[0]


def get_frame_or_none(bucket: Bucket, key: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    try:
        return get_frame(bucket, key, columns)
    except ObjectMissing:
        return None
