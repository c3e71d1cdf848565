"""Issue 13, class 7 with real processes: two `ecompipe run` at once against one emulator, a run
ended by SIGTERM, and one killed with SIGKILL, then recovered as docs/operations.md says.
Issue 19: the two runs validate side by side and commit one at a time."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from ecompipe.core import layout
from tests.conftest import SAMPLE
from tests.e2e.conftest import ecompipe, start_run

pytestmark = pytest.mark.e2e


def _s3(url: str):
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _wait_for_lease(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the run holds the leases of its dates (its commit's first step takes them)."""
    s3 = _s3(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if s3.list_objects_v2(Bucket="ecompipe-local", Prefix=layout.DATE_LOCKS).get("KeyCount"):
                return
        except s3.exceptions.NoSuchBucket:
            pass  # the run has not created it yet
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the run never took a lease")


def _status(url: str) -> dict:
    return json.loads(ecompipe("status", "--endpoint-url", url, "--output", "json").stdout)


def _kpis(url: str) -> dict:
    return json.loads(ecompipe("kpis", "--endpoint-url", url, "--output", "json").stdout)


def _split_sample(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for path in sorted(SAMPLE.rglob("*.csv")):
        shutil.copy(path, (second if path.name.startswith("order_items") else first) / path.name)
    return first, second


def test_two_runs_at_once_both_succeed_and_leave_nothing_held(
    tmp_path: Path, emulator_url: str, sample_kpis: dict
) -> None:
    first, second = _split_sample(tmp_path)
    runs = [start_run(first, emulator_url), start_run(second, emulator_url)]
    outputs = [p.communicate(timeout=300) for p in runs]
    for proc, (_, err) in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "waiting for run" not in err  # neither waited for the other to finish its run
    status = _status(emulator_url)
    assert status["lease"] is None and status["claims"] == [] and status["date_leases"] == []
    assert _kpis(emulator_url) == sample_kpis


def test_sigterm_stops_the_run_and_frees_its_lease_then_a_rerun_is_exact(emulator_url: str, sample_kpis: dict) -> None:
    proc = start_run(SAMPLE, emulator_url)
    _wait_for_lease(emulator_url, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    status = _status(emulator_url)
    assert status["lease"] is None and status["claims"] == [] and status["date_leases"] == [], err
    rerun = json.loads(ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert rerun == sample_kpis


def test_sigkill_leaves_a_lease_that_status_names_and_the_next_run_takes_over(
    emulator_url: str, sample_kpis: dict
) -> None:
    proc = start_run(SAMPLE, emulator_url)
    _wait_for_lease(emulator_url, proc)
    proc.kill()
    proc.wait(timeout=30)
    status = _status(emulator_url)
    dates, [claim] = status["date_leases"], status["claims"]
    assert claim["owner"].split(":")[2] == str(proc.pid) and claim["owner_alive"] is False
    assert dates and {d["run_id"] for d in dates} == {claim["run_id"]}
    assert all(d["owner_alive"] is False for d in dates)
    text = ecompipe("status", "--endpoint-url", emulator_url).stdout
    assert "its process is gone" in text and "unlock --force" in text
    # the same files again: the dead run's claim and leases are taken over at once, and said so
    again = ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url, "--output", "json")
    assert f"took over: {claim['owner']} is gone" in again.stderr
    assert "the claim of run" in again.stderr and "the lease of run" in again.stderr
    status = _status(emulator_url)
    assert status["claims"] == [] and status["date_leases"] == [] and status["lease"] is None
    assert _kpis(emulator_url) == sample_kpis
