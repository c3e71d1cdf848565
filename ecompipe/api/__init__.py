"""The KPI API and dashboard (`ecompipe serve`): FastAPI over the KPI tables, the run ledger and
the validation reports, plus uploads into incoming/, and questions over the data (SQL, questions in
words, totals, the errors log: docs/queries.md). create_app only composes the routers (kpis, runs,
uploads, questions, summaries, feeds, pages); what they share is in common.py, their shapes in models.py.

Every input error is a 400 with a sentence saying what is wrong; with ECOMPIPE_API_KEY set, every
/api route needs it in the X-API-Key header (the page shell and /health hold no data and do not).
"""

from __future__ import annotations

from fastapi import FastAPI

from ecompipe import __version__
from ecompipe.api import common, feeds, kpis, pages, questions, runs, summaries, uploads
from ecompipe.batch.resources import Resources
from ecompipe.core.settings import Settings
from questions.live import LiveEngine


def create_app(settings: Settings, resources: Resources | None = None) -> FastAPI:
    """The app over one bucket and its tables (resources are built from settings when not given)."""
    res = resources or Resources.from_settings(settings)
    app = FastAPI(
        title="ecompipe KPI API",
        version=__version__,
        description="Order and category KPIs, run history and validation reports of an ecompipe pipeline.",
        docs_url=None,  # the Swagger page loads its scripts from a CDN; /openapi.json is the contract
        redoc_url=None,
    )
    guarded = common.guard(settings)
    common.handle_errors(app)
    live = LiveEngine(settings)  # one embedded engine for every request, reopened when the store changed
    app.include_router(pages.router())
    app.include_router(kpis.router(live, guarded))
    app.include_router(runs.router(res, guarded))
    app.include_router(uploads.router(res, settings, guarded))
    app.include_router(questions.router(live, guarded))
    app.include_router(summaries.router(live, guarded))
    app.include_router(feeds.router(res, guarded))
    uploads.limit_upload_size(app, settings)
    pages.mount_static(app)
    app.openapi = lambda: common.without_422(app)  # type: ignore[method-assign]
    return app
