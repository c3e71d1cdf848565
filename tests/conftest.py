"""Shared fixtures: paths, a fixed clock, moto (in-process) and the pipeline's resources on it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import moto  # noqa: F401  before any boto3 session: sessions (shared per process, ecompipe.aws.clients) copy its stub
import pytest
from hypothesis import HealthCheck, settings

# hypothesis (property tests, schemathesis): the same examples on every CI run, random ones locally
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("dev", deadline=None, suppress_health_check=_QUIET)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "sample_data" / "thelook"
SAMPLE = ROOT / "sample_data" / "seed"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# moto's config is process-wide and the emulator tests turn execution on: pin it for in-process tests
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": False}}


def pytest_configure(config: pytest.Config) -> None:
    """In-process moto is the emulator `ecompipe run` serves: with ecompipe's fixes to it. The
    session (not each xdist worker) starts checkov's install, if it needs one, in the background
    at the lowest CPU priority (tests.support.tools.prepare): ~30 s of pip a fresh machine would
    otherwise spend inside test_infra's checkov test, on the suite's critical path."""
    from ecompipe.local import patches

    patches.apply()
    if not hasattr(config, "workerinput"):
        from tests.support.tools import prepare

        prepare("checkov")
        _compile_sources()


_SOURCES = ("ecompipe", "validator", "transformer", "trigger", "events", "questions", "tests")


def _compile_sources() -> None:
    """The project's own modules compiled once, before the workers start. Where the environment
    sets PYTHONDONTWRITEBYTECODE (this machine does), no import writes a .pyc, so every process
    the suite starts (each CLI command, emulator and task: hundreds) would compile them again,
    ~0.3 s of CPU each; the installed packages were compiled by pip. A no-op when they are fresh."""
    import compileall

    for name in _SOURCES:
        compileall.compile_dir(ROOT / name, quiet=2, workers=0)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject.toml): one worker more than the cores. Many tests wait on processes of
    their own (the CLI, the emulator, a browser), and a third worker on 2 cores takes the CPU those
    waits leave idle: the suite took 515 s with 3 workers against 566 s with 2 (and a fresh clone's
    .ci/run 10m47s with 3 against 11m12s with 4, 2026-12-07)."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture(scope="session")
def lab_dir() -> Path:
    assert LAB.is_dir(), f"the public data set ships with the project at {LAB}"
    return LAB


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region; no ECOMPIPE_* leaking in from the caller's shell."""
    for key in list(os.environ):
        if key.startswith("ECOMPIPE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def resources(aws_env: None, tmp_path: Path):
    """Bucket and KPI tables created in an in-process moto, torn down after the test. The query
    engine's copy of curated/ is the test's own: every in-process moto has the same bucket name,
    which would otherwise make it one folder shared by tests running side by side."""
    from moto import mock_aws

    from ecompipe.batch.resources import Resources
    from ecompipe.core.settings import Settings

    with mock_aws(config=MOTO_CONFIG):
        res = Resources.from_settings(Settings(bucket="ecompipe-test", query_cache_dir=str(tmp_path / "query-cache")))
        res.init()
        yield res


@pytest.fixture
def events_world(aws_env: None):
    """The events workload on in-process moto (tests/support/events.py)."""
    from moto import mock_aws

    from ecompipe.core.settings import Settings
    from tests.support.events import make_world

    with mock_aws(config=MOTO_CONFIG):
        yield make_world(Settings(bucket="ecompipe-events-test", max_receive_count=3))


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict:
    """Curated copies, KPI rows and reports of the lab data and of generated data (tests/support/questions.py)."""
    from tests.support.questions import make_stores
    from tests.support.shared import once_per_session

    root = tmp_path_factory.getbasetemp().parent if worker_id != "master" else tmp_path_factory.mktemp("q")
    return once_per_session(tmp_path_factory, worker_id, "question_stores", lambda: make_stores(root))
