"""The capacity model of bench/scale.py (docs/scaling.md): its arithmetic, on a made-up measurement."""

from __future__ import annotations

import math

import pytest

from bench.scale import COMPUTE_S_PER_MIB, REQUEST_S, WRITE_S_PER_MIB, Aws, Measured, Task, plan
from ecompipe.core import cells

M = Measured(
    csv_mib=100.0,
    validate_s=20.0,  # 5 MiB/s
    stages_s=30.0,  # transform 10 MiB/s
    baseline_mib=100.0,
    peak_mib=2100.0,  # 20 MiB per CSV MiB
    categories=26,
    machine="test",
)
NO_START = Aws(task_start_s=0.0)


def test_a_shard_is_what_a_process_holds_and_never_more_than_was_measured() -> None:
    small = plan(1000.0, M, Task(vcpu=1, memory_mib=1024), NO_START)
    assert small["shard_mib"] == pytest.approx((1024 * 0.9 - 100) / 20, abs=0.05)
    roomy = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    assert roomy["shard_mib"] == 100.0  # (8192 * 0.9 - 100) / 20 = 364 MiB, but 100 MiB was measured


def test_tasks_and_their_seconds_follow_the_measured_throughput() -> None:
    p = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    assert (p["validate_tasks"], p["transform_tasks"]) == (10, 10)
    rebuild = 100.0 * (COMPUTE_S_PER_MIB + WRITE_S_PER_MIB) + 8 * REQUEST_S  # a rebuild in cells, as measured
    assert (p["validate_task_s"], p["transform_task_s"]) == (20.0, round(rebuild, 1))
    # a task of k vCPUs runs k shards at once
    assert plan(1000.0, M, Task(vcpu=2, memory_mib=16384), NO_START)["validate_tasks"] == 5


WRITE = 100.0 * WRITE_S_PER_MIB + 6 * REQUEST_S  # a 100 MiB batch's write, under today's lease


def test_a_days_writes_take_its_lease_in_turn_whatever_the_tasks() -> None:
    one = plan(10_000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    ten = plan(100_000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    assert ten["batches"] == 10 * one["batches"] == 1000
    assert ten["lease_chain_s"] == pytest.approx(1000 * WRITE, abs=0.1)  # the rebuilds computed side by side
    assert ten["lease_chain_s"] == pytest.approx(10 * one["lease_chain_s"], abs=1.0)  # linear (each to 0.1 s)
    big = plan(100_000.0, M, Task(vcpu=8, memory_mib=8 * 8192), NO_START)
    assert big["transform_tasks"] == 125 and big["lease_chain_s"] == ten["lease_chain_s"]
    assert ten["group_chain_s"] == pytest.approx(1000 * WRITE / cells.GROUPS, abs=0.1)  # batches of one group each


def test_concurrency_is_the_tightest_limit_and_sets_the_waves() -> None:
    aws = Aws(task_start_s=0.0, vcpu_quota=4, launch_burst=10_000)
    p = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), aws, max_concurrency=1000)
    assert (p["concurrency"], p["binding_concurrency"]) == (4, "Fargate vCPU quota (tasks)")
    rebuild = 100.0 * (COMPUTE_S_PER_MIB + WRITE_S_PER_MIB) + 8 * REQUEST_S
    parallel = math.ceil(10 / 4) * 20.0 + rebuild
    assert p["wall_s"] == pytest.approx(max(parallel, 20.0 + 10 * WRITE), abs=0.1)
    assert p["binds"] == "concurrency"  # 20 s + 10 writes (~17 s) against ~70 s: the writes do not bind here


def test_fargate_bills_a_minute_at_least() -> None:
    p = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    per_hour = Aws().vcpu_hour + 8 * Aws().gib_hour
    assert p["cost_usd"]["fargate"] == pytest.approx(20 * 60 / 3600 * per_hour, abs=0.01)
    # each of the 10 batches: two dates touched, one order KPI item + 26 categories each
    assert p["dynamodb_writes"] == 10 * 2 * 27
