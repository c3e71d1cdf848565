"""What the container commands leave for CloudWatch: EMF metrics on stdout, JSON logs on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ecompipe.aws.manifests import Manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout, taskenv
from ecompipe.core.settings import Settings
from tests.conftest import ROOT, SAMPLE
from tests.support.helpers import put_files, read_dir, record_manifest

pytestmark = pytest.mark.e2e


def _task_env(url: str, batch_id: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOMPIPE_")}
    env.update(
        more,
        ECOMPIPE_ENDPOINT_URL=url,
        ECOMPIPE_RUN_ID=batch_id,
        ECOMPIPE_BATCH_ID=batch_id,
        ECOMPIPE_BUCKET="ecompipe-local",
        AWS_ACCESS_KEY_ID="t",
        AWS_SECRET_ACCESS_KEY="t",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def _task(command: str, url: str, batch_id: str, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ecompipe", "task", command],
        cwd=ROOT,
        env=_task_env(url, batch_id, **more),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _sample_batch(url: str) -> tuple[Resources, Manifest]:
    """sample_data uploaded to the emulator and recorded as one batch, as the trigger would."""
    res = Resources.from_settings(Settings(endpoint_url=url))
    res.init()
    return res, record_manifest(res.bucket, put_files(res, read_dir(SAMPLE)))


def test_every_command_of_a_fanned_out_batch_exits_0_with_its_metrics_and_logs(emulator_url: str) -> None:
    """The container commands as ECS runs them, for a batch that fans out: one parse-file, validate,
    plan-transform, one transform-group, transform, archive. Each must exit 0 with its EMF document
    (on AWS a task that exits 1 fails its state, and a failed advisory task is tolerated: nothing
    else would show it)."""
    res, manifest = _sample_batch(emulator_url)

    metrics: dict[str, dict] = {}
    steps = [
        ("parse-file", {taskenv.FILE_KEY: manifest.files[0].key}),
        ("validate", {}),
        ("plan-transform", {}),
        ("transform-group", {taskenv.GROUP: "0"}),
        ("transform", {}),
        ("archive", {}),
    ]
    for command, more in steps:
        proc = _task(command, emulator_url, manifest.batch_id, **more)
        assert proc.returncode == 0, proc.stderr
        [emf] = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        directive = emf["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "ecompipe" and sorted(directive["Dimensions"][0]) == ["service", "stage"]
        assert emf["stage"] == command and "StageDuration" in emf
        metrics[command] = emf
        logs = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
        assert logs and all(
            (line["run_id"], line["batch_id"], line["stage"]) == (manifest.batch_id, manifest.batch_id, command)
            for line in logs
        )
        [summary] = [line for line in logs if line["message"] == f"{command} summary"]
        assert summary["level"] == "INFO" and summary["counts"]

    assert [metrics["validate"][k] for k in ("RowsRead", "RowsAccepted", "RowsRejected", "RowsPending")] == [
        [429.0],
        [421.0],
        [6.0],
        [2.0],
    ]
    assert metrics["parse-file"]["FilesParsed"] == [1.0] and metrics["plan-transform"]["TransformGroups"] == [1.0]
    written = metrics["transform-group"]["KpiItemsWritten"]  # the one group's, counted in the run's total
    assert written[0] > 0 and metrics["transform"]["KpiItemsWritten"] == written
    assert metrics["archive"]["ArchivedFiles"] == [11.0]
    run = res.ledger.get(manifest.batch_id)
    assert json.loads(run["notification"])["event"] == "success"
    assert run["lease_etag"] and res.leases().current() is None  # transform took it, the archive freed it


def test_a_commit_waits_for_the_leases_another_batch_holds_and_writes_nothing_before(
    emulator_url: str, tmp_path
) -> None:
    """Validation runs without a lease. The transform takes the leases of its dates, waiting (and
    saying so) while another batch holds one, and writes nothing before it holds them all; it then
    rebuilds its dates and waits for the commit lease before the batch-wide writes (the catalogue,
    the pending set)."""
    import time

    from ecompipe.aws import transient
    from ecompipe.aws.date_leases import DateLeases

    res, manifest = _sample_batch(emulator_url)
    assert _task("validate", emulator_url, manifest.batch_id).returncode == 0  # batch-scoped writes only
    first_day = str(
        transient.get_frame(res.bucket, layout.staging_key(manifest.batch_id, "orders"))["order_date"].min()
    )
    other_day = DateLeases(res.leases(), "another-batch", "test").of(first_day).acquire("another-batch", "test")
    other = res.leases().acquire("another-batch", "test")
    log = tmp_path / "stderr.log"

    def wait_for(line: str) -> None:
        deadline = time.monotonic() + 60
        while line not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecompipe", "task", "transform"],
            cwd=ROOT,
            env=_task_env(emulator_url, manifest.batch_id),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_for("waiting for the date lease held by run another-batch")
            assert res.bucket.list("curated/") == [] and res.kpis.order_kpis() == []
            assert DateLeases(res.leases(), "another-batch", "test").of(first_day).release(other_day)
            wait_for("waiting for the commit lease held by run another-batch")
            assert res.bucket.list("curated/orders/") and res.kpis.order_kpis()  # its dates, rebuilt
            assert not res.bucket.exists(layout.CURATED_PRODUCTS_KEY) and not res.bucket.list("pending/")
            assert res.leases().release(other)
            assert proc.wait(timeout=120) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert res.bucket.exists(layout.CURATED_PRODUCTS_KEY) and res.bucket.list("pending/")
    assert res.leases().current().run_id == manifest.batch_id  # held for the archive, which frees it


def test_a_failing_task_logs_the_error_and_exits_1(emulator_url: str) -> None:
    Resources.from_settings(Settings(endpoint_url=emulator_url)).init()
    proc = _task("validate", emulator_url, "batch-does-not-exist")
    assert proc.returncode == 1
    errors = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"level":"ERROR"')]
    assert errors and errors[0]["stage"] == "validate" and "has no manifest" in errors[0]["message"] + str(errors[0])
    run = Resources.from_settings(Settings(endpoint_url=emulator_url)).ledger.get("batch-does-not-exist")
    assert run["status"] == "FAILED" and run["failed_stage"] == "validate"


@pytest.mark.parametrize("level", ["WARNING", "INFO"])
def test_a_local_subprocess_task_logs_as_the_cli_does(emulator_url: str, level: str, capfd) -> None:
    """`ecompipe run --tasks subprocess` (or --workers N): a task's INFO logs and its EMF document
    show only with `ecompipe -v`; its errors always."""
    from ecompipe.core.observability import logger, set_level
    from ecompipe.local.runner import LocalTaskRunner

    res, manifest = _sample_batch(emulator_url)
    env = {
        "ECOMPIPE_RUN_ID": manifest.batch_id,
        "ECOMPIPE_BATCH_ID": manifest.batch_id,
        "ECOMPIPE_BUCKET": "ecompipe-local",
    }
    before = logger.log_level
    set_level(level)
    try:
        runner = LocalTaskRunner(res.settings, "local", mode="subprocess")
        assert runner._execute("validate", env) == 0
        assert runner._execute("validate", {**env, "ECOMPIPE_BATCH_ID": "batch-gone"}) == 1  # no manifest
    finally:
        logger.setLevel(before)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert any(line.get("level") == "ERROR" and "has no manifest" in str(line) for line in lines)
    assert any(line.get("message") == "validate summary" for line in lines) == (level == "INFO")
    assert any("_aws" in line for line in lines) == (level == "INFO")  # the EMF document
