"""The validation report (reports/<batch_id>/validation.json): per file, per reason, with examples."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from validator import reasons
from validator.dialects import ignored_columns

if TYPE_CHECKING:
    from validator.batch import ParsedFile

MAX_VALUE_CHARS = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A cell as it may appear in a report or log: control characters escaped, long values cut."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])
    return shown if len(text) <= limit else shown + f"… ({len(text)} chars)"


def file_entry(p: ParsedFile, accepted: int, examples: int) -> dict:
    """One file's part of the report."""
    entry: dict = {"file": p.key, "kind": p.kind, "dialect": p.dialect.name if p.dialect else None}
    if p.malformed is not None:
        entry.update(
            status="rejected",
            error={"reason": p.malformed.reason, "message": p.malformed.message},
            rows_read=0,
            accepted=0,
            rejected=0,
            pending=0,
            reasons={p.malformed.reason: 1},
            examples={},
        )
        return entry
    assert p.raw is not None and p.dialect is not None
    errs = p.errors.drop_duplicates(["row", "reason", "column"])
    pending = p.pending if p.pending is not None else pd.DataFrame({"row": [], "reason": []})
    lines = p.raw.lines
    found: list[dict] = [
        {"line": int(lines[r.row]), "column": r.column, "value": safe_value(r.value), "reason": r.reason}
        for r in errs.itertuples()
    ]
    found += [
        {"line": g.line, "column": None, "value": safe_value(g.text), "reason": reasons.RAGGED_ROW}
        for g in p.raw.ragged
    ]
    for r in pending.itertuples():
        for code in str(r.reason).split(";"):
            column = "order_id" if code == reasons.UNKNOWN_ORDER else "product_id"
            value = p.frame.at[r.row, column] if p.frame is not None else None
            found.append({"line": int(lines[r.row]), "column": column, "value": safe_value(value), "reason": code})
    counts = Counter(f["reason"] for f in found)
    by_reason: dict[str, list[dict]] = {}
    for f in sorted(found, key=lambda f: (f["reason"], f["line"])):
        bucket = by_reason.setdefault(f["reason"], [])
        if len(bucket) < examples:
            bucket.append({**f, "message": reasons.DESCRIPTIONS.get(f["reason"], f["reason"])})
    entry.update(
        status="ok",
        error=None,
        rows_read=p.rows_read,
        accepted=accepted,
        rejected=int(errs["row"].nunique()) + len(p.raw.ragged),
        pending=len(pending),
        blank_lines=p.raw.blank_lines,
        ignored_columns=ignored_columns(p.dialect, p.raw.header),
        reasons=dict(sorted(counts.items())),
        examples=by_reason,
    )
    return entry


def build_report(
    batch_id: str,
    parsed: list[ParsedFile],
    accepted_per_file: dict[str, int],
    *,
    carried_counts: dict[str, int],
    pending_after: int,
    expired: int,
    warnings: list[dict],
    now: datetime,
    examples: int,
) -> dict:
    """The whole report. `outcome` is what the orchestration branches on."""
    files = [file_entry(p, accepted_per_file.get(p.key, 0), examples) for p in parsed]
    totals = {k: sum(f[k] for f in files) for k in ("rows_read", "accepted", "rejected", "pending")}
    totals.update(files=len(files), rejected_files=sum(f["status"] == "rejected" for f in files))
    resolved = carried_counts.get("resolved", 0)
    changed_pending = totals["pending"] + resolved + expired + carried_counts.get("superseded", 0)
    return {
        "batch_id": batch_id,
        "generated_at": now.isoformat(),
        "files": files,
        "pending": {**carried_counts, "added": totals["pending"], "total_after": pending_after},
        "warnings": {
            "count": len(warnings),
            "by_type": dict(Counter(w["type"] for w in warnings)),
            "examples": [{**w, "order_id": safe_value(w["order_id"])} for w in warnings[:examples]],
        },
        "totals": totals,
        "outcome": {
            "valid_rows": totals["accepted"] + resolved,
            # something to transform: new rows, or a change to the pending set to commit
            "has_work": bool(totals["accepted"] + resolved or changed_pending),
        },
    }
