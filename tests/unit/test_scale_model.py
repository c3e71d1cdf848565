"""The capacity model of bench/scale.py (docs/scaling.md): its arithmetic, on a made-up measurement."""

from __future__ import annotations

import math

import pytest

from bench.scale import Aws, Measured, Task, plan

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
    assert (p["validate_task_s"], p["transform_task_s"]) == (20.0, 10.0)
    # a task of k vCPUs runs k shards at once
    assert plan(1000.0, M, Task(vcpu=2, memory_mib=16384), NO_START)["validate_tasks"] == 5


def test_the_shuffle_grows_with_the_square_of_the_day() -> None:
    one = plan(10_000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    ten = plan(100_000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    assert ten["validate_tasks"] == 10 * one["validate_tasks"]
    n = ten["validate_tasks"]
    assert ten["s3_gets"] == n + n * n + n
    assert ten["shuffle_seconds_at_prefix_limit"] == pytest.approx(n * n / 5500, abs=0.05)


def test_concurrency_is_the_tightest_limit_and_sets_the_waves() -> None:
    aws = Aws(task_start_s=0.0, vcpu_quota=4, launch_burst=10_000)
    p = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), aws, max_concurrency=1000)
    assert (p["concurrency"], p["binding_concurrency"]) == (4, "Fargate vCPU quota (tasks)")
    assert p["wall_s"] == math.ceil(10 / 4) * 20.0 + math.ceil(10 / 4) * 10.0


def test_fargate_bills_a_minute_at_least() -> None:
    p = plan(1000.0, M, Task(vcpu=1, memory_mib=8192), NO_START)
    per_hour = Aws().vcpu_hour + 8 * Aws().gib_hour
    assert p["cost_usd"]["fargate"] == pytest.approx(20 * 60 / 3600 * per_hour, abs=0.01)
    assert p["dynamodb_writes"] == 2 * 27  # two dates touched, one order KPI item + 26 categories each
