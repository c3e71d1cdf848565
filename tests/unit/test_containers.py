"""The task image and the compose file, validated statically (no Docker engine here, DESIGN §6)."""

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit
DOCKERFILE = ROOT / "containers" / "Dockerfile"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed (it comes with the test extra)"
    return path


def test_dockerfile_is_hadolint_clean() -> None:
    proc = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_is_slim_runs_as_non_root_and_enters_ecompipe() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert stages and all(s.endswith("-slim") or " AS " in s for s in stages)
    final = text.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER (\S+)", final, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["ecompipe-entrypoint"]' in final
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
    assert emulator["image"].startswith("motoserver/moto:")
    assert pipeline["build"]["dockerfile"] == "containers/Dockerfile"
    assert pipeline["environment"]["ECOMPIPE_ENDPOINT_URL"] == "http://emulator:5000"
    assert pipeline["command"] == ["run", "/data"]
    assert "emulator" in pipeline["depends_on"]
    assert not any("SECRET" in k or "ACCESS_KEY" in k for k in pipeline["environment"])
