"""A batch that fans out, on the emulator: the real state machine's Distributed Maps read their
items from S3 and run one ECS task each (two at a time by the local runner) — parse-file per file
of the manifest, before Validate does the batch-wide checks from the stored parts, and
transform-group per group of the plan (of dates, or a piece of a heavy date's cells), before
Transform finishes. A failed child costs
time, never a different result: Validate parses that file itself, Transform does that group."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecompipe.aws import clients as aws
from ecompipe.batch import tasks
from ecompipe.batch.resources import Resources
from ecompipe.core import fan_layout, layout, taskenv
from ecompipe.core.settings import Settings
from ecompipe.local import stack as local_aws
from ecompipe.local.emulator import Emulator
from ecompipe.local.generate import Spec, generate
from ecompipe.local.starter import run_via_state_machine
from tests.conftest import SAMPLE
from tests.support.helpers import one_shot_kpis, put_files, read_dir

pytestmark = pytest.mark.e2e

BROKEN = "incoming/orders_part3.csv"  # its parse-file task fails
BROKEN_GROUP = "1"  # its transform-group task fails


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
    seen: dict[str, list[str]] = {taskenv.FILE_KEY: [], taskenv.GROUP: []}

    def failing_for(command: str, item: str, broken: str):
        """The real task for every item of the Map (the value of env `item`) but `broken`, whose
        task fails without doing anything."""

        def task(_name: str, env: dict[str, str]) -> int:
            seen[item].append(env[item])
            if env[item] == broken:
                return 1
            tasks.run(command, Resources.from_settings(res.settings), taskenv.TaskInput.from_env(env))
            return 0

        return task

    keys = put_files(res, files)
    overrides = {
        "parse-file": failing_for("parse-file", taskenv.FILE_KEY, BROKEN),
        "transform-group": failing_for("transform-group", taskenv.GROUP, BROKEN_GROUP),
    }
    execution, result = run_via_state_machine(
        res, stack, keys, owner="test", timeout_seconds=120, task_overrides=overrides, workers=2
    )

    assert execution["status"] == "SUCCEEDED", execution
    assert result is not None
    assert sorted(seen[taskenv.FILE_KEY]) == sorted(keys)  # one child execution per file of the manifest
    sfn = aws.client("stepfunctions", res.settings)
    map_runs = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    # (moto's ECS integration does not fail a task on its exit code, as AWS does: the child that
    # exited 1 counts as succeeded here; what matters is that the state after the Map does not
    # depend on it)
    totals = sorted(sfn.describe_map_run(mapRunArn=m["mapRunArn"])["itemCounts"]["total"] for m in map_runs)
    assert totals == sorted([len(keys), 4]) and result.transform["groups"] == 4  # at most fan_out_concurrency
    assert sorted(seen[taskenv.GROUP]) == ["0", "1", "2", "3"]  # group 1's child wrote nothing: Transform did it
    # the parts, the plan, its slices and markers were the run's own: gone with its staging/ once archived
    assert res.bucket.list(layout.staging_prefix(result.batch_id)) == []
    run = res.ledger.get(result.batch_id)
    assert (run["status"], run["accepted"]) == ("SUCCEEDED", 421)  # a failed child is not the run's failure
    assert run["parts"] == len(keys) - 1  # one run, with the parts it was made of
    # (a small batch: one shard, never validated shard by shard)
    parsed_here = {
        "parsed_by_tasks": sorted(set(keys) - {BROKEN}),
        "parsed_here": [BROKEN],
        "validated_in_shards": None,
    }
    assert result.report["fan_out"] == parsed_here
    assert (res.kpis.order_kpis(), res.kpis.category_kpis()) == one_shot_kpis(files)


def test_a_batch_of_several_shards_is_validated_one_task_per_shard(fanned, monkeypatch) -> None:
    """A batch of several shards: the ValidateShards Map runs validate-shard per shard after the
    parse Map, and Validate merges what they took; the outcome is the one-task run's."""
    monkeypatch.setattr(fan_layout, "SHARD_ROWS", 100)  # ~400 order and item rows in four shards
    res, stack = fanned
    files = generate(Spec(order_items=300, days=3, files=1, bad_rate=0.05, seed=3))
    keys = put_files(res, files)
    shards: list[str] = []

    def shard_task(_name: str, env: dict[str, str]) -> int:
        shards.append(env[taskenv.SHARD])
        tasks.run("validate-shard", Resources.from_settings(res.settings), taskenv.TaskInput.from_env(env))
        return 0

    execution, result = run_via_state_machine(
        res, stack, keys, owner="test", timeout_seconds=120, task_overrides={"validate-shard": shard_task}, workers=2
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert result is not None
    count = result.report["fan_out"]["validated_in_shards"]
    assert count >= 4 and sorted(shards, key=int) == [str(s) for s in range(count)]
    assert result.report["totals"]["rejected"] > 0 and res.ledger.get(result.batch_id)["accepted"] > 0
    assert res.bucket.list(layout.staging_prefix(result.batch_id)) == []
    assert (res.kpis.order_kpis(), res.kpis.category_kpis()) == one_shot_kpis(files)


def test_a_day_heavy_batch_is_transformed_in_pieces_of_its_cells_by_the_state_machine(fanned) -> None:
    """One order date (as a shop's day is): the TransformDates Map runs one piece of the date's
    cells per child (transformer.pieces), one of them failing, and Transform merges them."""
    res, stack = fanned
    day, products = "2025-06-10", "product_id,category,price\nP1,Books,10.00\nP2,Toys,5.00\nP3,Games,7.50\n"
    files = {"products.csv": products.encode()}
    for f in range(4):
        ids = [f"F{f}-{i:03}" for i in range(40)]
        files[f"orders_{f}.csv"] = (
            "order_id,user_id,order_date,status,total_amount\n"
            + "".join(f"{o},U{i % 13},{day},{('delivered', 'returned')[i % 2]},0\n" for i, o in enumerate(ids))
        ).encode()
        files[f"order_items_{f}.csv"] = (
            "order_id,product_id,quantity,unit_price\n"
            + "".join(f"{o},P{1 + i % 3},{1 + i % 4},{i % 7}.25\n" for i, o in enumerate(ids))
        ).encode()
    keys = put_files(res, files)
    seen: list[str] = []

    def group_task(_name: str, env: dict[str, str]) -> int:
        seen.append(env[taskenv.GROUP])
        if env[taskenv.GROUP] == BROKEN_GROUP:
            return 1
        tasks.run("transform-group", Resources.from_settings(res.settings), taskenv.TaskInput.from_env(env))
        return 0

    execution, result = run_via_state_machine(
        res, stack, keys, owner="test", timeout_seconds=120, task_overrides={"transform-group": group_task}, workers=2
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert result is not None and result.transform["groups"] == 4 and sorted(seen) == ["0", "1", "2", "3"]
    assert result.transform["affected_dates"] == [day]  # one date in four pieces
    assert res.bucket.list(layout.staging_prefix(result.batch_id)) == []
    assert (res.kpis.order_kpis(), res.kpis.category_kpis()) == one_shot_kpis(files)  # (in-process moto: last)
