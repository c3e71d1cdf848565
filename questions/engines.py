"""An engine for the pipeline's store, from settings: DuckDB over a synced copy of curated/ and the
KPI and rejection rows (the default), or Athena over the stack's Glue tables."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ecompipe.aws import clients as aws
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core.settings import Settings
from questions import duck, sources
from questions.answers import Engine, Limits

ENGINES = ("duckdb", "athena")
LOAD_LIMIT_BYTES = 256 * 2**20  # curated Parquet an engine kept open reads into memory once


def limits(settings: Settings) -> Limits:
    return Limits(settings.query_max_rows, float(settings.query_timeout_seconds))


def cache_dir(settings: Settings) -> Path:
    """Where the copy of curated/ lives: ECOMPIPE_QUERY_CACHE_DIR, else one folder per endpoint and bucket."""
    if settings.query_cache_dir:
        return Path(settings.query_cache_dir).expanduser()
    place = hashlib.sha256(f"{settings.endpoint_url or 'aws'}|{settings.region}|{settings.bucket}".encode()).hexdigest()
    return Path.home() / ".cache" / "ecompipe" / "curated" / place[:16]


def open_engine(settings: Settings, name: str = "duckdb") -> Engine:
    if name == "athena":
        from questions.athena import AthenaEngine

        return AthenaEngine(aws.client("athena", settings), settings.athena_workgroup, settings.athena_database)
    return open_duck(settings)[0]


def open_duck(settings: Settings, kept_open: bool = False) -> tuple[duck.DuckEngine, list[dict], list[dict]]:
    """DuckDB over the store as it is now, and the KPI rows it loaded (orders, categories). An
    engine `kept_open` loads the curated tables into memory when the copy is at most
    LOAD_LIMIT_BYTES of Parquet (about 4x that in memory); above, it reads the files per query."""
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    curated = sources.sync_curated(bucket, cache_dir(settings))
    order_kpis, category_kpis = sources.kpi_rows(KpiStore(aws.client("dynamodb", settings), settings))
    load = kept_open and sum(p.stat().st_size for p in curated.rglob("*.parquet")) <= LOAD_LIMIT_BYTES
    engine = duck.DuckEngine(duck.connect(curated, order_kpis, category_kpis, sources.rejections(bucket), load))
    return engine, order_kpis, category_kpis
