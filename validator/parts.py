"""A fanned-out batch's parts: each file parsed by its own task (validator.files.parse_file) and
kept under staging/<batch>/parts/ for the batch-wide step (validator.task.run).

A part is Arrow IPC objects (ecompipe.aws.transient): the canonical rows, of orders and items
already split by shard as validation spills them (validator.spill: one object per shard, the
shard count the batch's size decides, `Manifest.shards`), of products whole; the file's
text as the fast reader read it (the cells of the few rows a report shows are read again from it
by line), or its cells when another reader read it; the cells that failed to parse; and, written
last, each row's line and shard, with what else the file held in the object's own metadata. Each
names the key and ETag of the file version it was read from. The batch-wide step uses a part only
for the very version its manifest took and parses the file itself otherwise, so a part that is
missing, stale or unreadable costs time, never a different result.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa

from ecompipe.aws import transient
from ecompipe.aws.objects import Bucket, ObjectInfo, side_by_side
from ecompipe.core import fan_layout, layout
from ecompipe.core.errors import LayoutError, ObjectMissing
from validator import shards, spill
from validator.dialects import DIALECTS, ORDER_ITEMS, ORDERS
from validator.model import ParsedFile
from validator.reading import MalformedFile, RaggedRow, RawTable

_NOTE, _DTYPES = "ecompipe_part", "ecompipe_part_dtypes"
_LINE, _SHARD, _SOURCE = "line", "shard", "source"
SPLIT = (ORDERS, ORDER_ITEMS)  # the kinds whose rows a part splits by shard
Rows = int  # which of a part's orders and items to read: a shard's number, or one of these
EVERY_SHARD, NO_ROWS = -1, -2


def write(bucket: Bucket, batch_id: str, p: ParsedFile, etag: str, count: int) -> None:
    """Store one parsed file, its orders or items split into `count` shards (the rows object,
    written last, completes the part)."""
    stamp = {"key": p.key, "etag": etag}
    dtypes = {c: str(t) for c, t in p.errors.dtypes.items()}  # text columns come back as written
    note = {_NOTE: json.dumps(stamp), _DTYPES: json.dumps(dtypes)}
    transient.put_frame(bucket, fan_layout.part_key(batch_id, p.name, "errors"), p.errors, note)
    about = _about(p, stamp)
    rows = pd.DataFrame()
    objects: dict[str, pd.DataFrame | pa.Table] = {}
    if p.raw is not None:
        rows = pd.DataFrame({_LINE: p.raw.lines})
        objects[fan_layout.part_key(batch_id, p.name, "raw")] = _raw(p.raw)
    if p.raw is not None and p.frame is not None:
        about["dtypes"] = {c: str(t) for c, t in p.frame.dtypes.items()}
        if p.kind in SPLIT:
            frame = p.frame.assign(source_line=p.raw.lines)
            parsed = p.parsed_rows()
            of_row = shards.shard_of(frame["order_id"].take(parsed), count)
            _, sizes, batches = spill.by_shard(frame, parsed, of_row, count)
            for s, batch in enumerate(batches):
                if sizes[s]:
                    objects[fan_layout.part_key(batch_id, p.name, "canonical", s)] = pa.Table.from_batches([batch])
            shard = np.full(len(frame), -1, np.int16)  # (-1: a row that failed to parse)
            shard[parsed] = of_row
            rows[_SHARD] = shard
            about["shards"], about["item_ids"] = count, spill.has_item_ids(frame, parsed)
        else:
            objects[fan_layout.part_key(batch_id, p.name, "canonical")] = p.frame
    transient.put_frames(bucket, objects)
    transient.put_frame(bucket, fan_layout.part_key(batch_id, p.name, "rows"), rows, {_NOTE: json.dumps(about)})


def read_all(
    bucket: Bucket,
    batch_id: str,
    files: list[ObjectInfo],
    directory: str,
    rows: Rows = EVERY_SHARD,
    count: int | None = None,
) -> dict[str, ParsedFile]:
    """The parts of these file versions there are (read, their shards into `directory`), by key;
    a part split into another shard count than `count` (or than the first one's) is left out (its
    file is parsed again: the shard count of a batch is one). `rows`: which of their orders and
    items to read. One listing says which files have a part (a batch that did not fan out has
    none: no read per file)."""
    listed = {o.key for o in bucket.list(fan_layout.parts_prefix(batch_id))}
    there = [(n, f) for n, f in enumerate(files) if _rows_key(batch_id, f) in listed]
    read_one = functools.partial(read, bucket, batch_id, directory=directory, rows=rows)
    found = side_by_side(lambda at: read_one(at[1], n=at[0]), there)
    parts = {info.key: p for (_, info), p in zip(there, found, strict=True) if p is not None}
    counts = [p.shards for p in parts.values() if p.shards]
    return {k: p for k, p in parts.items() if not p.shards or p.shards == (count or counts[0])}


def _rows_key(batch_id: str, info: ObjectInfo) -> str | None:
    """The key of the file's part's rows (None: no part can have its name)."""
    try:
        return fan_layout.part_key(batch_id, layout.file_name(info.key), "rows")
    except LayoutError:
        return None


def read(
    bucket: Bucket, batch_id: str, info: ObjectInfo, directory: str, n: int = 0, rows: Rows = EVERY_SHARD
) -> ParsedFile | None:
    """The part of this file version, or None (none written, another version, or not a part); its
    shards are written to `directory` (as files `n.<shard>.arrow`): all of them, one (`rows`: its
    number; the part's rows are then that shard's alone, as if it were the batch's only one), or
    none (NO_ROWS: its text, parse errors and what else it held, but no rows)."""
    name = layout.file_name(info.key)
    try:
        lines, rows_note = transient.get_frame_and_note(bucket, fan_layout.part_key(batch_id, name, "rows"))
        errors, errors_note = transient.get_frame_and_note(bucket, fan_layout.part_key(batch_id, name, "errors"))
        about, stamp = json.loads(rows_note[_NOTE]), json.loads(errors_note[_NOTE])
        errors = errors.astype(json.loads(errors_note[_DTYPES]))
        wanted = {"key": info.key, "etag": info.etag}
        if stamp != wanted or {k: about.get(k) for k in wanted} != wanted:
            return None
        return _parsed(bucket, batch_id, info.key, name, about, lines, errors, os.path.join(directory, str(n)), rows)
    except (ObjectMissing, KeyError, ValueError, TypeError, pa.ArrowInvalid):
        return None


def _about(p: ParsedFile, stamp: dict[str, str]) -> dict:
    about: dict = {**stamp, "kind": p.kind, "dialect": p.dialect.name if p.dialect else None}
    if p.malformed is not None:
        about["malformed"] = {"reason": p.malformed.reason, "message": p.malformed.message}
    if p.raw is not None:
        about["header"] = p.raw.header
        about["ragged"] = [[r.line, r.text, r.fields] for r in p.raw.ragged]
        about["blank_lines"] = p.raw.blank_lines
        about["separator"] = p.raw.separator
    return about


def _raw(raw: RawTable) -> pd.DataFrame | pa.Table:
    """What the cells are read from: the file's text as the fast reader read it, or its cells."""
    if raw.source is not None:
        return pa.table({_SOURCE: pa.array([raw.source], pa.large_binary())})
    return raw.cells if raw.cells is not None else pd.DataFrame({h: pd.Series([], dtype="str") for h in raw.header})


def _parsed(
    bucket: Bucket,
    batch_id: str,
    key: str,
    name: str,
    about: dict,
    rows: pd.DataFrame,
    errors: pd.DataFrame,
    path: str,
    wanted: Rows,
) -> ParsedFile:
    p = ParsedFile(key, name, kind=about["kind"], errors=errors)
    if about.get("dialect"):
        p.dialect = next(d for d in DIALECTS[about["kind"]] if d.name == about["dialect"])
    if "malformed" in about:
        p.malformed = MalformedFile(about["malformed"]["reason"], about["malformed"]["message"])
    if "header" not in about:
        return p
    header = list(about["header"])
    raw = transient.get_table(bucket, fan_layout.part_key(batch_id, name, "raw"))
    source = raw.column(_SOURCE)[0].as_py() if _SOURCE in raw.column_names else None
    p.raw = RawTable(
        header,
        None if source is not None else raw.to_pandas()[header].astype("str"),
        rows[_LINE].to_numpy(dtype="int64"),
        [RaggedRow(int(line), str(text), int(fields)) for line, text, fields in about["ragged"]],
        int(about["blank_lines"]),
        str(about.get("separator", ",")),
        source,
    )
    p.shards = int(about.get("shards", 0))
    if "dtypes" not in about or wanted == NO_ROWS:  # (read, but not parsed into rows; or no rows wanted)
        return p
    dtypes = {c: pd.api.types.pandas_dtype(t) for c, t in about["dtypes"].items()}
    if "shards" not in about:
        p.frame = transient.get_frame(bucket, fan_layout.part_key(batch_id, name, "canonical")).astype(dtypes)
        return p
    p.frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    of_row = rows[_SHARD].to_numpy(dtype=np.int64)
    parsed = np.flatnonzero(of_row >= 0)
    sizes = np.bincount(of_row[parsed], minlength=p.shards)
    if wanted >= p.shards:
        raise ValueError(f"no shard {wanted} of {p.shards}")
    chosen = range(len(sizes)) if wanted == EVERY_SHARD else [wanted]
    paths = {
        s: _local(bucket, fan_layout.part_key(batch_id, name, "canonical", s), f"{path}.{s}.arrow")
        for s in chosen
        if sizes[s]
    }
    if wanted == EVERY_SHARD:
        order = parsed[shards.shard_order(of_row[parsed], p.shards)]
        p.spilled = spill.Piece(tuple(paths.get(s, "") for s in chosen), order, sizes, -1, bool(about["item_ids"]))
    else:  # (one shard, as a batch of one)
        mine = parsed[of_row[parsed] == wanted]
        p.spilled = spill.Piece((paths.get(wanted, ""),), mine, np.array([len(mine)]), -1, bool(about["item_ids"]))
    return p


def _local(bucket: Bucket, key: str, path: str) -> str:
    """A shard of a part written to `path` as an IPC file of one record batch, uncompressed (read
    column by column, memory-mapped, it is decompressed once)."""
    batch = pa.ipc.open_file(pa.BufferReader(bucket.get_bytes(key))).get_batch(0)
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return path
