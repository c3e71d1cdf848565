"""A batch that fans out, on the emulator: the real state machine's Distributed Map reads the
manifest's files from S3 and runs one parse-file ECS task per file (two at a time by the local
runner), then Validate does the batch-wide checks from the stored parts. A failed child costs
time, never a different result: Validate parses that file itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecompipe.aws import clients as aws
from ecompipe.batch import tasks
from ecompipe.batch.pipeline import Resources
from ecompipe.core import layout, taskenv
from ecompipe.core.settings import Settings
from ecompipe.local import stack as local_aws
from ecompipe.local.emulator import Emulator
from ecompipe.local.starter import run_via_state_machine
from tests.conftest import SAMPLE
from tests.support.helpers import one_shot_kpis, put_files, read_dir

pytestmark = pytest.mark.e2e

BROKEN = "incoming/orders_part3.csv"  # its parse-file task fails


@pytest.fixture
def fanned() -> Iterator[tuple[Resources, local_aws.LocalStack]]:
    with Emulator() as url:
        settings = Settings(endpoint_url=url, bucket="ecompipe-fan", fan_out_min_mb=0, fan_out_concurrency=4)
        res = Resources.from_settings(settings)
        res.init()
        yield res, local_aws.deploy(settings)


def test_a_fanned_out_batch_gives_the_kpis_of_one_task_even_when_a_child_fails(fanned) -> None:
    res, stack = fanned
    files = read_dir(SAMPLE)
    parsed: list[str] = []

    def parse_file(_name: str, env: dict[str, str]) -> int:
        parsed.append(env[taskenv.FILE_KEY])
        if env[taskenv.FILE_KEY] == BROKEN:
            return 1
        tasks.run("parse-file", Resources.from_settings(res.settings), taskenv.TaskInput.from_env(env))
        return 0

    keys = put_files(res, files)
    execution, result = run_via_state_machine(
        res, stack, keys, owner="test", timeout_seconds=120, task_overrides={"parse-file": parse_file}, workers=2
    )

    assert execution["status"] == "SUCCEEDED", execution
    assert result is not None
    assert sorted(parsed) == sorted(keys)  # one child execution per file of the manifest
    sfn = aws.client("stepfunctions", res.settings)
    [map_run] = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    # (moto's ECS integration does not fail a task on its exit code, as AWS does: the child that
    # exited 1 counts as succeeded here; what matters is that Validate does not depend on it)
    assert sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])["itemCounts"]["total"] == len(keys)
    with_part = {k for k in keys if res.bucket.exists(layout.part_key(result.batch_id, layout.file_name(k), "rows"))}
    assert with_part == set(keys) - {BROKEN}
    run = res.ledger.get(result.batch_id)
    assert (run["status"], run["accepted"]) == ("SUCCEEDED", 421)  # a failed child is not the run's failure
    assert run["parts"] == len(keys) - 1  # one run, with the parts it was made of
    assert result.report["fan_out"] == {"parsed_by_tasks": sorted(set(keys) - {BROKEN}), "parsed_here": [BROKEN]}
    assert (res.kpis.order_kpis(), res.kpis.category_kpis()) == one_shot_kpis(files)
