"""The S3 layout (DESIGN §4): every key the pipeline reads or writes is built here."""

from __future__ import annotations

import posixpath
import re

INCOMING = "incoming/"
BATCHES = "batches/"
STAGING = "staging/"
CURATED = "curated/"
PENDING = "pending/"
REJECTED = "rejected/"
REPORTS = "reports/"
PROCESSED = "processed/"
LOCK_KEY = "locks/pipeline.lock"

KINDS = ("orders", "order_items", "products")

# The file kind comes from the file name; anything else is reported, never guessed.
_KIND_PATTERNS = (
    ("order_items", re.compile(r"order_items_.+\.csv", re.IGNORECASE)),
    ("orders", re.compile(r"orders_.+\.csv", re.IGNORECASE)),
    ("products", re.compile(r"products.*\.csv", re.IGNORECASE)),
)


def kind_of(name: str) -> str | None:
    """orders_*.csv, order_items_*.csv or products*.csv; None for anything else."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.fullmatch(name):
            return kind
    return None


PENDING_ITEMS_KEY = PENDING + "order_items.parquet"


def file_name(key: str) -> str:
    """The last path element of a key."""
    return posixpath.basename(key)


def incoming_key(name: str) -> str:
    return INCOMING + name


BACKLOG_KEY = BATCHES + "backlog.json"  # files a size-capped batch left for the next one


def manifest_key(batch_id: str) -> str:
    return f"{BATCHES}{batch_id}/manifest.json"


def staging_key(batch_id: str, kind: str) -> str:
    return f"{STAGING}{batch_id}/{kind}.parquet"


def staged_pending_key(batch_id: str) -> str:
    """The pending set as it stands after this batch; committed by the transformer."""
    return f"{STAGING}{batch_id}/pending_order_items.parquet"


def report_key(batch_id: str) -> str:
    return f"{REPORTS}{batch_id}/validation.json"


def transform_report_key(batch_id: str) -> str:
    return f"{REPORTS}{batch_id}/transform.json"


def rejected_rows_key(batch_id: str, name: str) -> str:
    """Rejected rows of one input file: the original columns plus line and reason."""
    return f"{REJECTED}{batch_id}/rows/{name}"


def rejected_file_key(batch_id: str, name: str) -> str:
    """A malformed file, copied whole."""
    return f"{REJECTED}{batch_id}/files/{name}"


def rejected_reason_key(batch_id: str, name: str) -> str:
    return f"{REJECTED}{batch_id}/files/{name}.reason.txt"


def expired_pending_key(batch_id: str) -> str:
    return f"{REJECTED}{batch_id}/rows/pending_expired.csv"


def processed_key(batch_id: str, key: str) -> str:
    return f"{PROCESSED}{batch_id}/{file_name(key)}"


def curated_partition_key(kind: str, order_date: str) -> str:
    """Orders and items are partitioned by order date (Hive style)."""
    return f"{CURATED}{kind}/order_date={order_date}/part.parquet"


def curated_prefix(kind: str) -> str:
    return f"{CURATED}{kind}/"


def partition_date(key: str) -> str | None:
    """The order date of a curated partition key, or None for anything else."""
    for part in key.split("/"):
        if part.startswith("order_date="):
            return part.removeprefix("order_date=")
    return None


CURATED_PRODUCTS_KEY = CURATED + "products/products.parquet"
