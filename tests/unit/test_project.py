"""Promises the repository makes about itself: the Quickstart, CI and lint."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_quickstart_has_exactly_two_setup_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2
    # each installs its lock (tests/unit/test_lock.py): the local extra's, the test extra's
    assert commands[0].endswith("ecompipe run") and "-r requirements/local.txt" in commands[0]
    assert commands[1].endswith("pytest") and "-r requirements/test.txt" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == _quickstart_commands()[1]


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    from dataclasses import fields

    from ecompipe.core.settings import Settings

    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for f in fields(Settings):
        name = f.name.upper()
        assert f"ECOMPIPE_{name}" in section or f"/ _{name} " in section or f"/ _{name} |" in section, name


@pytest.mark.parametrize(("setting", "expected"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_the_pipeline_chooses_arrows_allocator_unless_told(setting: str | None, expected: str) -> None:
    """Importing the validator or transformer (as the tasks, the CLI and the benchmarks do) makes
    Arrow allocate with malloc (docs/benchmarks.md: faster and leaner than mimalloc here); an
    explicit ARROW_DEFAULT_MEMORY_POOL still decides. Checked in a fresh interpreter, since Arrow
    reads the setting once."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if setting:
        env["ARROW_DEFAULT_MEMORY_POOL"] = setting
    code = "import transformer.kpis, validator.batch, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path) -> None:
    """The suite runs with `--dist loadgroup` (pyproject.toml): a module marked xdist_group (the
    dashboard's, whose fixture runs the sample through the state machine) must stay on one worker,
    or each worker sets its module fixtures up again. Some pytest and xdist releases together
    drop the group silently (pytest-dev/pytest-xdist#1386): this fails if the lock takes them."""
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('one')\n"
        "@pytest.mark.parametrize('i', range(8))\n"
        "def test_where(i, tmp_path_factory):\n"
        "    with open(os.environ['WHERE'], 'a') as f:\n"
        "        f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of the project's own options
    where = tmp_path / "where.txt"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"],
        cwd=tmp_path,
        env={**os.environ, "WHERE": str(where)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    workers = where.read_text().split()
    assert len(workers) == 8 and len(set(workers)) == 1, workers
