"""Every key the pipeline builds stays under its prefixes, whatever batch id or file name it is
given (the CLI's --batch / BATCH_ID, a task's ECOMPIPE_BATCH_ID, an uploaded file's name)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecompipe.cli import main
from ecompipe.core import layout
from ecompipe.core.errors import LayoutError, SettingsError
from ecompipe.core.taskenv import TaskInput

pytestmark = pytest.mark.unit

PREFIXES = (
    layout.INCOMING,
    layout.BATCHES,
    layout.STAGING,
    layout.CURATED,
    layout.REJECTED,
    layout.REPORTS,
    layout.PROCESSED,
    layout.PENDING,
    layout.KEY_INDEX,
)
BATCH_KEYS = [
    layout.manifest_key,
    layout.staged_pending_key,
    layout.staged_resolved_key,
    layout.staged_held_key,
    layout.report_key,
    layout.transform_report_key,
    layout.expired_pending_key,
    lambda b: layout.staging_key(b, "orders"),
    lambda b: layout.rejected_rows_key(b, "orders_a.csv"),
    lambda b: layout.rejected_file_key(b, "orders_a.csv"),
    lambda b: layout.rejected_reason_key(b, "orders_a.csv"),
    lambda b: layout.processed_key(b, "incoming/orders_a.csv"),
]
NAME_KEYS = [
    layout.incoming_key,
    lambda n: layout.rejected_rows_key("batch-1", n),
    lambda n: layout.rejected_file_key("batch-1", n),
    lambda n: layout.rejected_reason_key("batch-1", n),
]
HOSTILE_BATCH_IDS = ["", "../curated", "a/b", "..", "batch-1/../../x", "/abs", "x" * 81, "bad\nid", "ok id"]
HOSTILE_NAMES = ["", ".", "..", "a/b.csv", "../../curated/x.csv", "a\\b.csv", "x" * 256]


@pytest.mark.parametrize("build", BATCH_KEYS)
@pytest.mark.parametrize("batch_id", HOSTILE_BATCH_IDS)
def test_hostile_batch_ids_are_refused(build, batch_id: str) -> None:
    with pytest.raises(LayoutError, match="is not a batch id"):
        build(batch_id)


@pytest.mark.parametrize("build", NAME_KEYS)
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_are_refused(build, name: str) -> None:
    with pytest.raises(LayoutError, match="is not a plain file name"):
        build(name)


@pytest.mark.parametrize("batch_id", ["batch-3f2a9c0d1e2b4a5c6d7e", "pending-20261122T120000", "b-test"])
def test_real_ids_build_keys_under_the_prefixes(batch_id: str) -> None:
    keys = [build(batch_id) for build in BATCH_KEYS] + [build("orders_ä b.csv") for build in NAME_KEYS]
    keys += [layout.cell_part_key("orders", "2025-06-01", 3, "abc123"), layout.curated_prefix("order_items")]
    keys += [layout.cells_manifest_key("2025-06-01"), layout.customers_key("2025-06-01", "v1")]
    keys += [layout.key_index_run_key("products", "0001-abc"), layout.legacy_partition_key("orders", "2025-06-01")]
    for key in keys:
        assert key.startswith(PREFIXES) and ".." not in key.split("/"), key


def test_curated_keys_take_only_kinds_and_dates() -> None:
    with pytest.raises(LayoutError):
        layout.cell_part_key("orders", "2025-06-01/../../x", 0, "p")
    with pytest.raises(LayoutError):
        layout.cell_part_key("orders", "2025-06-01", 0, "../x")
    with pytest.raises(LayoutError):
        layout.key_index_run_key("orders", "a/../../b")
    with pytest.raises(LayoutError):
        layout.curated_prefix("../reports")


def test_a_task_refuses_a_batch_id_outside_the_layout() -> None:
    with pytest.raises(LayoutError):
        TaskInput.from_env({"ECOMPIPE_RUN_ID": "r", "ECOMPIPE_BATCH_ID": "../../curated"})


@pytest.mark.parametrize(
    "args",
    [["report", "../curated/orders"], ["reprocess", "--batch", "a/../../x", "--dry-run"]],
)
def test_the_cli_refuses_a_batch_id_outside_the_layout(args: list[str], monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ECOMPIPE_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: no call may be made
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2  # a usage error, raised before any AWS call
    assert "is not a batch id" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["start", "--workers", "2"], ["start", "--workers", "2", "--wait"]])
def test_start_workers_are_for_the_local_runner_only(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.delenv("ECOMPIPE_ENDPOINT_URL", raising=False)  # on AWS, Fargate runs the tasks
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--workers is for the local task runner" in result.output


def test_a_transform_group_task_reads_its_group_number() -> None:
    env = {"ECOMPIPE_RUN_ID": "r1", "ECOMPIPE_BATCH_ID": "batch-1", "ECOMPIPE_GROUP": "3"}
    assert TaskInput.from_env(env).group == 3
    assert TaskInput.from_env({**env, "ECOMPIPE_GROUP": ""}).group is None
    with pytest.raises(SettingsError, match="ECOMPIPE_GROUP must be a number"):
        TaskInput.from_env({**env, "ECOMPIPE_GROUP": "../1"})
