"""The curated stores the questions tests ask (made once per session: the lab data and a generated
batch through the pipeline on in-process moto)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LAB


def make_stores(root: Path) -> dict:
    """The lab data and a generated batch through the pipeline (in-process moto); for each, the
    synced curated copy, the KPI rows, the validation reports and the data's last date."""
    from moto import mock_aws

    from ecompipe.batch.resources import Resources
    from ecompipe.core.settings import Settings
    from ecompipe.local.generate import Spec, generate
    from questions import sources
    from tests.conftest import MOTO_CONFIG
    from tests.support.helpers import read_dir, run_files

    datasets = {
        "lab": read_dir(LAB),
        "generated": generate(Spec(order_items=2000, days=40, files=3, bad_rate=0.02, seed=11, start="2025-02-10")),
    }
    out = {}
    for name, files in datasets.items():
        with mock_aws(config=MOTO_CONFIG):
            res = Resources.from_settings(Settings(bucket=f"ecompipe-questions-{name}"))
            res.init()
            run_files(res, files)
            curated = sources.sync_curated(res.bucket, root / f"questions-{name}")
            order_kpis, category_kpis = sources.kpi_rows(res.kpis)
            reports = [
                res.bucket.get_bytes(o.key).decode() for o in res.bucket.list("reports/") if "validation" in o.key
            ]
            out[name] = {
                "curated": str(curated),
                "order_kpis": json.loads(json.dumps(order_kpis, default=str)),
                "category_kpis": json.loads(json.dumps(category_kpis, default=str)),
                "rejections": sources.rejections(res.bucket),
                "reports": reports,
            }
    return out
