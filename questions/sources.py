"""What the embedded engine reads, fetched from the pipeline's store: a local copy of curated/
(synced by ETag: only changed partitions are downloaded, removed ones are removed), the KPI rows
(DynamoDB) and the rejections of every validation report (S3)."""

from __future__ import annotations

import fcntl
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core import held, layout

_INDEX = ".etags.json"
_LOCK = ".sync.lock"
_PARALLEL = 8


def sync_curated(bucket: Bucket, directory: Path) -> Path:
    """Make `directory` hold exactly what curated/ holds (same relative paths); returns it. One
    sync at a time per directory (a file lock: API requests and commands may share it)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / _LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _sync(bucket, directory)
    return directory


def _sync(bucket: Bucket, directory: Path) -> None:
    index_path = directory / _INDEX
    known: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
    listed = {o.key.removeprefix(layout.CURATED): o.etag for o in bucket.list(layout.CURATED)}
    # only keys that stay inside the copy: a key like curated/../../x names no curated file
    remote = {rel: etag for rel, etag in listed.items() if _inside(rel)}
    stale = [rel for rel, etag in remote.items() if known.get(rel) != etag or not (directory / rel).exists()]

    def fetch(rel: str) -> None:
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(bucket.get_bytes(layout.CURATED + rel))
        partial.replace(target)

    with ThreadPoolExecutor(_PARALLEL) as pool:
        list(pool.map(fetch, stale))
    for rel in set(known) - set(remote):
        (directory / rel).unlink(missing_ok=True)
    index_path.write_text(json.dumps(remote, sort_keys=True))


def _inside(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def rejections(bucket: Bucket) -> list[dict[str, Any]]:
    """One row per batch, file and reason from the validation reports (docs/queries.md)."""
    rows: list[dict[str, Any]] = []
    for info in bucket.list(layout.REPORTS):
        if not info.key.endswith("/validation.json"):
            continue
        report = bucket.get_json(info.key)
        rows += rejection_rows(report)
    return rows


def rejection_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A validation report's rejections: per file and reason, the rows (a rejected file counts 1)."""
    day = str(report.get("generated_at", ""))[:10] or None
    out = []
    for entry in report.get("files", []):
        name = layout.file_name(str(entry.get("file", "")))
        for reason, count in (entry.get("reasons") or {}).items():
            if reason in held.HELD_REASONS:  # held, not rejected: they wait in pending/
                continue
            out.append(
                {
                    "batch_id": report.get("batch_id"),
                    "day": day,
                    "file": name,
                    "kind": entry.get("kind"),
                    "reason": reason,
                    "row_count": int(count),
                }
            )
    return out


def kpi_rows(kpis: KpiStore) -> tuple[list[dict], list[dict]]:
    return kpis.order_kpis(), kpis.category_kpis()
