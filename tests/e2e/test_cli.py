"""The CLI as a user runs it: subprocesses against moto's server."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.e2e.conftest import ecompipe
from tests.support.shared import once_per_session

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def lab_run(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict:
    """One `ecompipe run` of the public data on the embedded emulator, made once per session:
    its stdout and stderr."""

    def make() -> dict:
        proc = ecompipe("run", str(lab_dir), "--output", "json")
        return {"stdout": proc.stdout, "stderr": proc.stderr}

    return once_per_session(tmp_path_factory, worker_id, "lab_run", make)


def test_run_on_public_data_prints_the_assignment_figures_as_json(lab_run: dict) -> None:
    doc = json.loads(lab_run["stdout"])  # stdout holds exactly the JSON document
    assert list(doc) == ["order_kpis", "category_kpis"]
    day = next(r for r in doc["order_kpis"] if r["order_date"] == "2025-03-25")
    assert day == {
        "order_date": "2025-03-25",
        "total_orders": 342,
        "total_revenue": "79153.56",
        "total_items_sold": 999,
        "return_rate": 0.1842,
        "unique_customers": 335,
    }
    assert [r["order_date"] for r in doc["order_kpis"]] == sorted(r["order_date"] for r in doc["order_kpis"])
    keys = [(r["order_date"], r["category"]) for r in doc["category_kpis"]]
    assert keys == sorted(keys)
    assert "46007 accepted, 0 rejected, 0 pending" in lab_run["stderr"]


def test_two_batches_against_one_emulator_equal_one_run(sample_kpis: dict, emulator_url: str, tmp_path: Path) -> None:
    # (two `ecompipe run`s of the sample, the first holding items of the second's orders;
    # tests/functional/test_pipeline.py runs the public data in three batches in process). Order 1
    # is in orders_part1 and again in orders_part5: within a batch the first row of a key wins,
    # across batches the later one, so both files go in the first.
    splits = {
        "b1": [
            "products.csv",
            "orders_part1.csv",
            "orders_part5.csv",
            "order_items_part3.csv",
            "order_items_part4.csv",
        ],
        "b2": [*(f"orders_part{n}.csv" for n in (2, 3, 4)), *(f"order_items_part{n}.csv" for n in (1, 2, 5))],
    }
    sources = {p.name: p for p in SAMPLE.glob("*.csv")}
    assert sorted(n for names in splits.values() for n in names) == sorted(sources)
    for batch, names in splits.items():
        (tmp_path / batch).mkdir()
        for name in names:
            shutil.copy(sources[name], tmp_path / batch / name)
        ecompipe("run", str(tmp_path / batch), "--endpoint-url", emulator_url, "--output", "json")
    successive = json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert len(successive["order_kpis"]) == 10
    assert successive == sample_kpis
    ledger = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert [r["status"] for r in ledger] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(datetime.fromisoformat(r["finished_at"]) > datetime.fromisoformat(r["started_at"]) for r in ledger)


def test_run_with_no_arguments_uses_sample_data_and_prints_tables() -> None:
    proc = ecompipe("run")
    assert "Order KPIs (10 rows)" in proc.stdout and "Category KPIs" in proc.stdout
    assert "421 accepted, 6 rejected, 2 pending" in proc.stdout
    assert "embedded emulator at http://127.0.0.1:" in proc.stderr


def test_kpis_filters_and_formats(emulator_url: str) -> None:
    ecompipe("init", "--endpoint-url", emulator_url)
    ecompipe("init", "--endpoint-url", emulator_url)  # idempotent
    ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url)
    one_day = json.loads(
        ecompipe("kpis", "--date", "2025-06-03", "--endpoint-url", emulator_url, "--output", "json").stdout
    )
    assert [r["order_date"] for r in one_day["order_kpis"]] == ["2025-06-03"]
    assert {r["order_date"] for r in one_day["category_kpis"]} == {"2025-06-03"}
    books = json.loads(
        ecompipe(
            "kpis",
            "--category",
            "Books",
            "--from",
            "2025-06-02",
            "--to",
            "2025-06-04",
            "--endpoint-url",
            emulator_url,
            "--output",
            "json",
        ).stdout
    )
    assert books["order_kpis"] == [] and {r["category"] for r in books["category_kpis"]} == {"Books"}
    assert {r["order_date"] for r in books["category_kpis"]} <= {"2025-06-02", "2025-06-03", "2025-06-04"}
    text = ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "csv").stdout
    header, *rest = text.split("\n\n")[0].splitlines()
    assert header == "order_date,total_orders,total_revenue,total_items_sold,return_rate,unique_customers"
    assert len(rest) == 10 and all(len(r.split(",")[2].split(".")[1]) == 2 for r in rest)


def test_validate_needs_no_aws_and_exits_1_only_when_nothing_is_valid(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = ecompipe("validate", str(SAMPLE), "--report", str(report))
    assert "421 accepted, 6 rejected, 2 pending" in proc.stdout
    assert json.loads(report.read_text())["totals"]["rows_read"] == 429
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "orders_x.csv").write_text("order_id,user_id,order_date,status\n1,2,not-a-date,delivered\n")
    assert ecompipe("validate", str(tmp_path / "bad"), check=False).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--output", "xml"],
        ["run", "no/such/dir"],
        ["kpis", "--date", "2025-13-01"],
        ["kpis", "--date", "2025-01-01", "--from", "2025-01-01"],
        ["validate"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    proc = ecompipe(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Error" in proc.stderr or "Usage" in proc.stderr


def test_a_failed_run_exits_1_with_a_clear_message() -> None:
    proc = ecompipe("run", str(SAMPLE), "--endpoint-url", "http://127.0.0.1:9", check=False)
    assert proc.returncode == 1
    assert "127.0.0.1:9" in proc.stderr and "Traceback" not in proc.stderr


def test_status_and_unlock(emulator_url: str) -> None:
    import boto3

    from ecompipe.aws.lock import LeaseStore

    ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url)
    doc = json.loads(ecompipe("status", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert doc["lease"] is None and doc["claims"] == []  # the run released its lease and its claim
    assert doc["pending"]["files"] == 0 and not doc["pending"]["would_start"]
    [batch] = doc["last_batches"]
    assert (batch["state"], batch["accepted"], batch["rejected"], batch["pending"]) == ("done", 421, 6, 2)

    s3 = boto3.client(
        "s3", endpoint_url=emulator_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    LeaseStore(s3, "ecompipe-local", timedelta(minutes=60)).acquire("someone-else", "other-host")
    held = ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url, check=False)
    assert held.returncode == 1 and "held by run someone-else" in held.stderr
    text = ecompipe("status", "--endpoint-url", emulator_url).stdout
    assert "lease: live, run someone-else" in text and "11 files" in text  # the refused run's uploads wait

    refused = ecompipe("unlock", "--endpoint-url", emulator_url, check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    forced = ecompipe("unlock", "--force", "--endpoint-url", emulator_url)
    assert "removed the live lease of run someone-else" in forced.stdout
    assert ecompipe("unlock", "--endpoint-url", emulator_url).stdout.strip() == "no commit lease is held"


def test_run_through_the_state_machine_equals_the_in_process_run(sample_kpis: dict, emulator_url: str) -> None:
    """(Through the state machine the batch fans out: every file parsed by its own parse-file
    task, and its dates transformed in two groups (one per worker) by two transform-group tasks,
    two tasks at a time, as threads of the command: the default. `sample_kpis` is a run through
    the state machine in one task per step.)"""
    fanned = {"ECOMPIPE_FAN_OUT_MIN_MB": "0"}
    via_state_machine = ecompipe(
        "run", "--workers", "2", "--endpoint-url", emulator_url, "--output", "json", env=fanned
    )
    direct = ecompipe("run", "--via", "direct", "--output", "json")
    assert "execution arn:aws:states:" in via_state_machine.stderr and "SUCCEEDED" in via_state_machine.stderr
    assert "11 files (11 parsed in parallel, 0 rejected whole)" in via_state_machine.stderr
    assert json.loads(via_state_machine.stdout) == json.loads(direct.stdout) == sample_kpis
    [ledger] = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert ledger["date_groups"] == 2
    assert len(sample_kpis["order_kpis"]) == 10


def test_one_worker_runs_a_batch_that_would_fan_out_as_one_task_each(sample_kpis: dict, emulator_url: str) -> None:
    """With one worker the fan-out's tasks would run one after another, adding only its own
    writes and reads: the batch takes one validate task and one transform task."""
    one = ecompipe("run", "--endpoint-url", emulator_url, "--output", "json", env={"ECOMPIPE_FAN_OUT_MIN_MB": "0"})
    assert "SUCCEEDED" in one.stderr and "11 files (0 rejected whole)" in one.stderr
    assert "parsed in parallel" not in one.stderr
    assert json.loads(one.stdout) == sample_kpis


def test_docker_tasks_without_an_engine_exit_2() -> None:
    proc = ecompipe("run", "--tasks", "docker", check=False)
    assert proc.returncode == 2 and "Docker engine" in proc.stderr


def test_start_by_hand_and_wait(emulator_url: str) -> None:
    import boto3

    ecompipe("init", "--endpoint-url", emulator_url)
    s3 = boto3.client(
        "s3", endpoint_url=emulator_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    for path in sorted(SAMPLE.glob("*.csv")):
        s3.put_object(Bucket="ecompipe-local", Key=f"incoming/{path.name}", Body=path.read_bytes())
    started = ecompipe("start", "--wait", "--endpoint-url", emulator_url)
    arn = started.stdout.strip()
    # each local start gets a state machine of its own (ecompipe-<id>), so none disturbs another's run
    assert re.fullmatch(r"arn:aws:states:[^:]+:\d+:execution:ecompipe-[0-9a-f]{12}:batch-[0-9a-f]+", arn), arn
    assert "execution SUCCEEDED" in started.stderr
    kpis = json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert len(kpis["order_kpis"]) == 10

    nothing = ecompipe("start", "--endpoint-url", emulator_url, check=False)
    assert nothing.returncode == 1 and "incoming/ holds no CSV file" in nothing.stderr

    batch_id = arn.rsplit(":", 1)[1]
    again = ecompipe("start", "--batch-id", batch_id, "--wait", "--endpoint-url", emulator_url)
    rerun = again.stdout.strip().rsplit(":", 1)[1]
    assert rerun.startswith(batch_id + "-") and rerun != batch_id
