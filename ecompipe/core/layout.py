"""The S3 layout (DESIGN §4): every key the pipeline reads or writes is built here."""

from __future__ import annotations

import hashlib
import posixpath
import re

from ecompipe.core.errors import LayoutError

INCOMING = "incoming/"
BATCHES = "batches/"
STAGING = "staging/"
MAX_BUCKETS = 64  # Athena's partition projection enumerates bucket=0..MAX_BUCKETS-1 (ecompipe.core.cells)
CURATED = "curated/"
PENDING = "pending/"
REJECTED = "rejected/"
REPORTS = "reports/"
PROCESSED = "processed/"
LOCK_KEY = "locks/pipeline.lock"  # the commit lease: one batch at a time writes what batches share
SWEEP_LOCK_KEY = "locks/sweep.lock"  # one sweep at a time takes files
RUN_CLAIMS = "locks/claims/"  # the files each running batch took, one object per run
DATE_LOCKS = "locks/dates/"  # leases on order dates and groups of their cells (ecompipe.aws.date_leases)

KINDS = ("orders", "order_items", "products")

# The file kind comes from the file name; anything else is reported, never guessed.
# A CSV file may come gzip-compressed (.csv.gz), as exports often do: the same kind, read alike.
_KIND_PATTERNS = (
    ("order_items", re.compile(r"order_items_.+\.csv(\.gz)?", re.IGNORECASE)),
    ("orders", re.compile(r"orders_.+\.csv(\.gz)?", re.IGNORECASE)),
    ("products", re.compile(r"products.*\.csv(\.gz)?", re.IGNORECASE)),
)
CSV_SUFFIXES = (".csv", ".csv.gz")
SALES_SUFFIX = ".json"  # JSON sales files: the sales workflow's (docs/events.md), never a batch's


def kind_of(name: str) -> str | None:
    """orders_*.csv, order_items_*.csv or products*.csv (each also .csv.gz); None for anything else."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.fullmatch(name):
            return kind
    return None


def is_csv(name: str) -> bool:
    return name.lower().endswith(CSV_SUFFIXES)


def is_sales_file(name: str) -> bool:
    return name.lower().endswith(SALES_SUFFIX)


PENDING_ITEMS_KEY = PENDING + "order_items.parquet"

# What may stand between the slashes of a key: batch ids are valid Step Functions execution names
# (batch-<hash>, pending-<time>); file names are one path element. Nothing given to the CLI, a task
# or the trigger can put a key outside the prefixes above.
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_batch_id(batch_id: str) -> str:
    if not _BATCH_ID.fullmatch(batch_id or "") or ".." in batch_id:
        raise LayoutError(
            f"{batch_id!r} is not a batch id: letters, digits, '-', '_' and '.', at most 80, "
            "as `ecompipe runs` lists them (e.g. batch-3f2a9c0d1e2b4a5c6d7e)"
        )
    return batch_id


def check_file_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or len(name.encode()) > 255:
        raise LayoutError(f"{name!r} is not a plain file name (no slashes, not '.' or '..', at most 255 bytes)")
    return name


def file_name(key: str) -> str:
    """The last path element of a key."""
    return posixpath.basename(key)


def incoming_key(name: str) -> str:
    return INCOMING + check_file_name(name)


BACKLOG_KEY = BATCHES + "backlog.json"  # files a size-capped batch left for the next one
ARCHIVED_UPLOADS = BATCHES + "uploads/"  # one record per upload a batch archived (key, version)


def archived_upload_key(key: str, version_id: str) -> str:
    """Where the archive records that this upload (a version of an incoming key) was processed,
    before it deletes it: a sweep never takes a recorded one again (docs/trigger.md)."""
    digest = hashlib.sha256(f"{key}\0{version_id}".encode()).hexdigest()[:32]
    return f"{ARCHIVED_UPLOADS}{digest}.json"


def manifest_key(batch_id: str) -> str:
    return f"{BATCHES}{check_batch_id(batch_id)}/manifest.json"


def manifest_files_key(batch_id: str) -> str:
    """The manifest's files as a bare JSON array: what a Distributed Map's ItemReader reads."""
    return f"{BATCHES}{check_batch_id(batch_id)}/files.json"


def staging_prefix(batch_id: str) -> str:
    """Everything a batch keeps while it runs (staged rows, parts, plans); removed once it is archived."""
    return f"{STAGING}{check_batch_id(batch_id)}/"


def staging_key(batch_id: str, kind: str) -> str:
    return f"{STAGING}{check_batch_id(batch_id)}/{_kind(kind)}.arrow"


def staged_pending_key(batch_id: str) -> str:
    """The pending set as it stands after this batch; committed by the transformer."""
    return f"{STAGING}{check_batch_id(batch_id)}/pending_order_items.arrow"


def staged_resolved_key(batch_id: str) -> str:
    """Held items (earlier batches', or its own at its commit) it resolves, committed with it."""
    return f"{STAGING}{check_batch_id(batch_id)}/resolved_order_items.arrow"


def staged_held_key(batch_id: str) -> str:
    """Its items validation held, with reasons: rechecked at the commit if an id came meanwhile."""
    return f"{STAGING}{check_batch_id(batch_id)}/held_order_items.arrow"


def run_claim_key(run_id: str) -> str:
    """The files run `run_id` took from incoming/ (no other sweep takes them while it runs)."""
    return f"{RUN_CLAIMS}{check_batch_id(run_id)}.json"


def validated_against_key(batch_id: str) -> str:
    """What a batch's validation read of the shared state, checked before it commits (validator.snapshot)."""
    return f"{STAGING}{check_batch_id(batch_id)}/validated_against.json"


def report_key(batch_id: str) -> str:
    return f"{REPORTS}{check_batch_id(batch_id)}/validation.json"


def report_attempt_key(batch_id: str, attempt: int) -> str:
    """The report of a later validation of the same batch (a resumed or recovered run)."""
    return f"{REPORTS}{check_batch_id(batch_id)}/validation.attempt-{int(attempt)}.json"


def affected_dates_key(batch_id: str) -> str:
    """The dates a batch's transform found affected, recorded before its first shared write (for a rerun)."""
    return f"{STAGING}{check_batch_id(batch_id)}/affected_dates.json"


def transform_plan_key(batch_id: str, run_id: str) -> str:
    """A fanned-out run's transform plan (plan-transform's); run ids are checked like batch ids."""
    return f"{transform_plans_prefix(batch_id)}{check_batch_id(run_id)}.json"


def transform_plans_prefix(batch_id: str) -> str:
    """Every run's transform plans and groups of a batch (transform_plan_key, transform_group_key)."""
    return f"{STAGING}{check_batch_id(batch_id)}/plans/"


def transform_groups_key(batch_id: str, run_id: str) -> str:
    """The plan's group numbers as a bare JSON array: what the TransformDates Map's ItemReader reads."""
    return f"{transform_plans_prefix(batch_id)}{check_batch_id(run_id)}.groups.json"


def transform_group_key(batch_id: str, run_id: str, plan_id: str, group: int, what: str) -> str:
    """One group's object of a plan: its rows, done marker, a piece's objects, a split's markers."""
    plan = f"{transform_plans_prefix(batch_id)}{check_batch_id(run_id)}/{key_token(plan_id)}"
    return f"{plan}/{int(group)}{transform_group_suffix(what)}"


def transform_group_suffix(what: str) -> str:
    """How every group's object of this kind ends (transform_group_key)."""
    if what not in _GROUP_OBJECTS:
        raise LayoutError(f"a transform group holds one of {', '.join(_GROUP_OBJECTS)}, not {what!r}")
    return f".{what}.{_GROUP_OBJECTS[what]}"


_GROUP_OBJECTS = dict.fromkeys(("orders", "order_items", "piece.moves"), "arrow")
_GROUP_OBJECTS |= dict.fromkeys(("done", "piece", "piece.intent", "merged", "whole"), "json")


def transform_report_key(batch_id: str) -> str:
    return f"{REPORTS}{check_batch_id(batch_id)}/transform.json"


def rejected_rows_key(batch_id: str, name: str) -> str:
    """Rejected rows of one input file: the original columns plus line and reason."""
    return f"{REJECTED}{check_batch_id(batch_id)}/rows/{check_file_name(name)}"


def rejected_file_key(batch_id: str, name: str) -> str:
    """A malformed file, copied whole."""
    return f"{REJECTED}{check_batch_id(batch_id)}/files/{check_file_name(name)}"


def rejected_reason_key(batch_id: str, name: str) -> str:
    return f"{REJECTED}{check_batch_id(batch_id)}/files/{check_file_name(name)}.reason.txt"


def expired_pending_key(batch_id: str) -> str:
    return f"{REJECTED}{check_batch_id(batch_id)}/rows/pending_expired.csv"


def processed_key(batch_id: str, key: str) -> str:
    return f"{PROCESSED}{check_batch_id(batch_id)}/{check_file_name(file_name(key))}"


def legacy_partition_key(kind: str, order_date: str) -> str:
    """A partition of the store before cells (one object per kind and date): what a migration reads."""
    return f"{CURATED}{_kind(kind)}/order_date={date_token(order_date)}/part.parquet"


def cell_part_key(kind: str, order_date: str, bucket: int, part: str) -> str:
    """One part of a cell (docs/scaling.md), Hive style: Athena and DuckDB read date and bucket."""
    return f"{CURATED}{_kind(kind)}/order_date={date_token(order_date)}/bucket={int(bucket)}/{key_token(part)}.parquet"


CELLS = CURATED + "cells/"  # one manifest per date: its cells, their parts and partial KPIs


def cells_manifest_key(order_date: str) -> str:
    return f"{CELLS}order_date={date_token(order_date)}/cells.json"


CUSTOMERS = CURATED + "customers/"  # apart from cells/: the LIST of manifests a plan makes stays small


def customers_key(order_date: str, version: str) -> str:
    """A date's customers and their order counts (what unique_customers needs, exactly)."""
    return f"{CUSTOMERS}order_date={date_token(order_date)}/{key_token(version)}.arrow"


def date_lock_key(order_date: str, part: str = "") -> str:
    """A lease of an order date: the whole date (""), a group of its cells ("g3"), its swap ("swap")."""
    if part and not re.fullmatch(r"g\d{1,2}|swap", part):
        raise LayoutError(f"{part!r} is not a part of a date's leases")
    return f"{DATE_LOCKS}{date_token(order_date)}{'/' + part if part else ''}.lock"


def date_token(order_date: str) -> str:
    if not _DATE.fullmatch(order_date):
        raise LayoutError(f"{order_date!r} is not a YYYY-MM-DD date")
    return order_date


def curated_prefix(kind: str) -> str:
    return f"{CURATED}{_kind(kind)}/"


def partition_date(key: str) -> str | None:
    """The order date of a curated partition key, or None for anything else."""
    return next((p.removeprefix("order_date=") for p in key.split("/") if p.startswith("order_date=")), None)


CURATED_PRODUCTS_KEY = CURATED + "products/products.parquet"
# a cache of every curated partition's key columns, checked against the partitions' ETags on use
KEY_INDEX = "indexes/"


LEGACY_KEY_INDEX = KEY_INDEX + "curated-"  # the key cache before cells (deleted by the migration)
KEY_INDEX_RUNS = KEY_INDEX + "cells/"  # ecompipe.aws.key_index


def key_index_run_prefix(kind: str) -> str:
    return f"{KEY_INDEX_RUNS}{_kind(kind)}/"


def key_index_run_key(kind: str, name: str) -> str:
    return f"{key_index_run_prefix(kind)}{key_token(name)}.arrow"


# rewritten after every write of the KPI tables: its ETag says they changed (questions/live.py)
KPIS_WRITTEN_KEY = KEY_INDEX + "kpis-written.json"


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise LayoutError(f"{kind!r} is not one of {', '.join(KINDS)}")
    return kind


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def key_token(value: str) -> str:
    """One path element made of letters, digits, '_' and '-' (at most 64), or LayoutError."""
    if not _TOKEN.fullmatch(value):
        raise LayoutError(f"{value!r} is not a key token (letters, digits, '_' and '-', at most 64)")
    return value
