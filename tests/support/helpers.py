"""Small helpers the tests share (uploading a set of files and running them as one batch)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ecompipe.aws.manifests import Manifest, write_manifest
from ecompipe.aws.objects import Bucket
from ecompipe.batch.pipeline import RunResult, run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from tests.conftest import NOW


def put_files(res: Resources, files: dict[str, bytes]) -> list[str]:
    keys = []
    for name, data in files.items():
        key = layout.incoming_key(name)
        res.bucket.put_bytes(key, data)
        keys.append(key)
    return keys


def record_manifest(bucket: Bucket, keys: list[str]) -> Manifest:
    """The manifest of exactly these keys (as they are now: size, ETag), written to batches/."""
    manifest = Manifest.for_files([info for info in (bucket.head(k) for k in keys) if info is not None])
    write_manifest(bucket, manifest)
    return manifest


def run_batch(res: Resources, keys: list[str], now: datetime | None = None) -> RunResult:
    """Process exactly these incoming keys as one batch, without the trigger or its lease."""
    return run_manifest(res, record_manifest(res.bucket, keys), now)


def run_files(res: Resources, files: dict[str, bytes], now: datetime = NOW) -> RunResult:
    return run_batch(res, put_files(res, files), now)


def read_dir(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*.csv"))}


def curated_rows(res: Resources) -> dict[str, list[tuple]]:
    """Every curated order and item row (as text, with its date, without the batch that wrote it),
    sorted, by kind: for comparing two histories' stores. The store's cells are checked first
    (tests.support.cells.check_cells): parts, partials, customers, index and nothing stray."""
    from ecompipe.aws.curated import CuratedStore
    from tests.support.cells import check_cells

    check_cells(res)
    store = CuratedStore(res.bucket)
    out: dict[str, list[tuple]] = {}
    for kind in ("orders", "order_items"):
        frame = store.read_rows(kind, store.dates())
        if frame is None:
            out[kind] = []
            continue
        text = frame.drop(columns=["batch_id"]).astype(str).fillna("<NA>")
        columns = ["order_date", *sorted(c for c in text.columns if c != "order_date")]
        out[kind] = sorted(text[columns].itertuples(index=False, name=None))
    return out


def kpi_state(res: Resources) -> tuple[list[dict], list[dict]]:
    """Both KPI tables, for comparisons."""
    return res.kpis.order_kpis(), res.kpis.category_kpis()


def one_shot_kpis(*batches: dict[str, bytes]) -> tuple[list[dict], list[dict]]:
    """The KPI tables of these files run as one batch (or these batches one after another) in a
    fresh in-process moto."""
    from moto import mock_aws

    from ecompipe.core.settings import Settings
    from tests.conftest import MOTO_CONFIG

    with mock_aws(config=MOTO_CONFIG):
        fresh = Resources.from_settings(Settings(bucket="ecompipe-oneshot"))
        fresh.init()
        for files in batches:
            run_files(fresh, files)
        return kpi_state(fresh)
