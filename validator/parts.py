"""A fanned-out batch's parts: each file parsed by its own task (validator.files.parse_file) and
kept under staging/<batch>/parts/ for the batch-wide step (validator.task.run).

A part is two Arrow IPC objects (ecompipe.aws.transient): the rows (raw cells, canonical columns
and line numbers side by side, with what else the file held in the object's own metadata) and the
cells that failed to parse. Both name the key and ETag of the file version they were read from.
The batch-wide step uses a part only for the very version its manifest took and parses the file
itself otherwise, so a part that is missing, stale or unreadable costs time, never a different
result.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ecompipe.aws import transient
from ecompipe.aws.objects import Bucket, ObjectInfo, side_by_side
from ecompipe.core import layout
from ecompipe.core.errors import ObjectMissing
from validator.dialects import DIALECTS
from validator.model import ParsedFile
from validator.reading import MalformedFile, RaggedRow, RawTable

_RAW, _CANONICAL, _LINE = "raw:", "canonical:", "line"
_NOTE, _DTYPES = "ecompipe_part", "ecompipe_part_dtypes"


def write(bucket: Bucket, batch_id: str, p: ParsedFile, etag: str) -> None:
    """Store one parsed file (errors first: the rows object, written last, completes the part)."""
    stamp = {"key": p.key, "etag": etag}
    dtypes = {c: str(t) for c, t in p.errors.dtypes.items()}  # text columns come back as written
    note = {_NOTE: json.dumps(stamp), _DTYPES: json.dumps(dtypes)}
    transient.put_frame(bucket, layout.part_key(batch_id, p.name, "errors"), p.errors, note)
    about = json.dumps(_about(p, stamp))
    transient.put_frame(bucket, layout.part_key(batch_id, p.name, "rows"), _rows(p), {_NOTE: about})


def read_all(bucket: Bucket, batch_id: str, files: list[ObjectInfo]) -> dict[str, ParsedFile]:
    """The parts of these file versions there are (read), by key."""
    found = side_by_side(lambda info: read(bucket, batch_id, info), files)
    return {info.key: p for info, p in zip(files, found, strict=True) if p is not None}


def read(bucket: Bucket, batch_id: str, info: ObjectInfo) -> ParsedFile | None:
    """The part of this file version, or None (none written, another version, or not a part)."""
    name = layout.file_name(info.key)
    try:
        rows, rows_note = transient.get_frame_and_note(bucket, layout.part_key(batch_id, name, "rows"))
        errors, errors_note = transient.get_frame_and_note(bucket, layout.part_key(batch_id, name, "errors"))
        about, stamp = json.loads(rows_note[_NOTE]), json.loads(errors_note[_NOTE])
        errors = errors.astype(json.loads(errors_note[_DTYPES]))
    except (ObjectMissing, KeyError, ValueError, TypeError):
        return None
    wanted = {"key": info.key, "etag": info.etag}
    if stamp != wanted or {k: about.get(k) for k in wanted} != wanted:
        return None
    return _parsed(info.key, name, about, rows, errors)


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


def _rows(p: ParsedFile) -> pd.DataFrame:
    if p.raw is None or p.frame is None:
        return pd.DataFrame()
    cells = p.raw.cells if p.raw.cells is not None else p.raw.rows(np.arange(len(p.raw.lines)))
    raw = cells.add_prefix(_RAW)
    canonical = p.frame.add_prefix(_CANONICAL)
    return pd.concat([raw, canonical, pd.DataFrame({_LINE: p.raw.lines})], axis=1)


def _parsed(key: str, name: str, about: dict, rows: pd.DataFrame, errors: pd.DataFrame) -> ParsedFile:
    p = ParsedFile(key, name, kind=about["kind"], errors=errors)
    if about.get("dialect"):
        p.dialect = next(d for d in DIALECTS[about["kind"]] if d.name == about["dialect"])
    if "malformed" in about:
        p.malformed = MalformedFile(about["malformed"]["reason"], about["malformed"]["message"])
    if "header" in about:
        header = list(about["header"])
        cells = rows[[_RAW + h for h in header]]
        cells.columns = header
        p.raw = RawTable(
            header,
            cells,
            rows[_LINE].to_numpy(dtype="int64"),
            [RaggedRow(int(line), str(text), int(fields)) for line, text, fields in about["ragged"]],
            int(about["blank_lines"]),
            str(about.get("separator", ",")),
        )
        canonical = [c for c in rows.columns if c.startswith(_CANONICAL)]
        p.frame = rows[canonical].rename(columns=lambda c: c[len(_CANONICAL) :])
    return p
