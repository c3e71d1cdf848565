"""The task image and the compose file, validated statically (no Docker engine here, DESIGN §6)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit
DOCKERFILE = ROOT / "containers" / "Dockerfile"


def _tool(name: str) -> str:
    """A tool the test extra installs: beside this interpreter (the venv's bin/, on PATH or not)."""
    beside = Path(sys.executable).with_name(name)
    path = str(beside) if beside.exists() else shutil.which(name)
    assert path, f"{name} is not installed (it comes with the test extra)"
    return path


def test_dockerfile_is_hadolint_clean() -> None:
    proc = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_is_slim_runs_as_non_root_and_enters_ecompipe() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert bases and all(b.endswith("-slim") or b in ("source", "runtime") for b in bases)
    stages = _stages()
    assert stages["task"].startswith("runtime AS task") and stages["local"].startswith("runtime AS local")
    users = re.findall(r"^USER (\S+)", stages["runtime"], re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["ecompipe-entrypoint"]' in stages["runtime"]
    entry = (ROOT / "containers" / "entrypoint.sh").read_text()
    assert 'exec ecompipe "$@"' in entry


def test_entrypoint_accepts_both_ecs_and_compose_style_commands(tmp_path) -> None:
    fake = tmp_path / "ecompipe"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    script = str(ROOT / "containers" / "entrypoint.sh")
    ecs = subprocess.run(["sh", script, "task", "validate"], env=env, capture_output=True, text=True)
    compose = subprocess.run(["sh", script, "ecompipe", "run", "/data"], env=env, capture_output=True, text=True)
    assert (ecs.stdout.strip(), compose.stdout.strip()) == ("task validate", "run /data")


def test_compose_file_is_valid_without_an_engine() -> None:
    proc = subprocess.run(
        [_tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    emulator, pipeline = config["services"]["emulator"], config["services"]["pipeline"]
    # the emulator is our own `ecompipe emulator` (moto with our ECS fix), built from our Dockerfile
    assert emulator["build"]["dockerfile"] == "containers/Dockerfile" and emulator["build"]["target"] == "local"
    assert emulator["command"][0] == "emulator" and "0.0.0.0" in emulator["command"]
    assert pipeline["image"] == emulator["image"]
    assert pipeline["environment"]["ECOMPIPE_ENDPOINT_URL"] == "http://emulator:5000"
    # so `docker compose run` goes through the real state machine, as `ecompipe run` does
    assert "ECOMPIPE_RUN_VIA" not in pipeline["environment"]
    assert pipeline["command"] == ["run", "/data"]
    assert "emulator" in pipeline["depends_on"]
    assert not any("SECRET" in k or "ACCESS_KEY" in k for k in pipeline["environment"])


def _stages() -> dict[str, str]:
    """Each build stage of the Dockerfile by name, with its text."""
    parts = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.MULTILINE)[1:]
    return {re.search(r" AS (\S+)", part.splitlines()[0]).group(1): part for part in parts}


def test_the_task_image_installs_only_what_the_tasks_run() -> None:
    stages = _stages()
    assert list(stages)[-1] == "task"  # the default target is the Fargate image
    assert "COPY --from=build-task /opt/venv" in stages["task"]
    assert "COPY --from=build-local /opt/venv" in stages["local"]
    # each image from its lock, then the project itself without its extras (tests/unit/test_lock.py)
    assert re.findall(r"-r (requirements/\S+)", stages["build-task"]) == ["requirements/task.txt"]
    assert re.findall(r"-r (requirements/\S+)", stages["build-local"]) == ["requirements/local.txt"]
    assert re.findall(r'pip install [^\n]*"([^"]+)"', stages["build-task"]) == ["."]
    # and what the task lock holds: the package's runtime requirements, none of the local extra's
    pinned = {
        line.split("==")[0] for line in (ROOT / "requirements" / "task.txt").read_text().splitlines() if "==" in line
    }
    assert pinned and not pinned & {"moto", "docker", "fastapi", "uvicorn", "python-multipart"}, pinned
    assert {"boto3", "pandas", "pyarrow", "pandera"} <= pinned
