"""Tasks run as threads side by side (the local task runner's default): each one's log lines and
metrics documents hold its own run and stage, never the other's."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ecompipe.core import observability


def test_each_threads_log_lines_name_its_own_stage() -> None:
    """Both bind, then both log: with keys shared by the process, the first to bind would log the
    second's stage."""
    both_bound = threading.Barrier(2)
    first_bound = threading.Event()

    def task(stage: str, first: bool) -> None:
        if not first:
            first_bound.wait()
        observability.bind(f"run-{stage}", f"batch-{stage}", stage)
        if first:
            first_bound.set()
        both_bound.wait()
        observability.logger.warning("from %s", stage)

    with _logged() as logged:
        _side_by_side([threading.Thread(target=task, args=(s, s == "validate")) for s in ("validate", "transform")])
    assert sorted((d["message"], d["stage"], d["run_id"], d["batch_id"]) for d in logged) == [
        ("from transform", "transform", "run-transform", "batch-transform"),
        ("from validate", "validate", "run-validate", "batch-validate"),
    ]


def test_a_stage_logs_none_of_the_keys_an_earlier_stage_left() -> None:
    """The trigger appends its keys for the whole process (trigger.handler); a task bound after
    it in the same process logs none of them."""
    with _logged() as logged:
        observability.logger.append_keys(stage="trigger", source="s3", request_id="r-1")
        observability.bind("run-1", "batch-1", "validate")
        observability.logger.warning("validating")
    (line,) = logged
    assert line["stage"] == "validate" and "source" not in line and "request_id" not in line


def test_metrics_documents_made_side_by_side_hold_only_their_own() -> None:
    rounds = 2000
    made: dict[str, list[dict]] = {"parse-file": [], "transform-group": []}
    start = threading.Barrier(2)

    def task(stage: str, value: float) -> None:
        start.wait()
        for _ in range(rounds):
            made[stage].append(observability.emf_document(stage, {"RowsRead": value, "StageDuration": value}))

    tasks = (("parse-file", 1.0), ("transform-group", 2.0))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can, so documents made at once interleave
    try:
        _side_by_side([threading.Thread(target=task, args=t) for t in tasks])
    finally:
        sys.setswitchinterval(interval)
    for stage, value in tasks:
        assert len(made[stage]) == rounds  # a thread that failed made fewer
        for doc in made[stage]:
            assert doc["stage"] == stage and doc["RowsRead"] == [value] and doc["StageDuration"] == [value]
            assert [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["RowsRead", "StageDuration"]


def test_a_document_that_fails_leaves_nothing_for_the_next() -> None:
    """The metric set is the process's: what a failed document added before its error must not
    show in the next one."""
    with pytest.raises(KeyError):
        observability.emf_document("validate", {"RowsRead": 1.0, "NotAMetric": 1.0})
    doc = observability.emf_document("transform", {"StageDuration": 3.0})
    assert doc["stage"] == "transform" and "RowsRead" not in doc
    assert [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["StageDuration"]


def _side_by_side(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@contextmanager
def _logged() -> Iterator[list[dict]]:
    """The lines the tasks' logger writes inside the block (after it ends), as its handler formats
    them: with the formatter it holds at each line, which `bind` replaces."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(observability.logger.registered_formatter.format(record))

    handler = Keep()
    observability.logger.addHandler(handler)
    logged: list[dict] = []
    try:
        yield logged
    finally:
        observability.logger.removeHandler(handler)
        logged.extend(json.loads(line) for line in lines)
