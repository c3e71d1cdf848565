"""Structured logs and metrics (Powertools for AWS Lambda, used in the tasks and the trigger).

Logs: JSON lines on stderr with service, run_id, batch_id and stage on every line, and one
summary line per stage with its counts. Metrics: CloudWatch embedded metric format (EMF), one
document per stage written to stdout by the container command; CloudWatch Logs extracts them
from the task's log stream (namespace `ecompipe`, dimensions service and stage).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "ecompipe"
NAMESPACE = "ecompipe"

logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr), level="INFO")


def bind(run_id: str, batch_id: str, stage: str) -> None:
    """Every following log line of this thread carries these keys, and none left from an earlier
    stage (the trigger's, appended for the whole process, included). Kept per thread: the local
    task runner runs tasks as threads side by side, and each one's lines name its own run and stage."""
    logger.clear_state()  # the process's keys, and this thread's
    logger.thread_safe_append_keys(run_id=run_id, batch_id=batch_id, stage=stage)


def set_level(level: str) -> None:
    logger.setLevel(level.upper())


# metric name -> (unit, what it counts); values come from each stage's summary
METRICS = {
    "RowsRead": (MetricUnit.Count, "rows read from the batch's files"),
    "RowsAccepted": (MetricUnit.Count, "rows staged"),
    "RowsRejected": (MetricUnit.Count, "rows rejected, with a reason"),
    "RowsPending": (MetricUnit.Count, "items held in pending/"),
    "RejectedFiles": (MetricUnit.Count, "files rejected whole"),
    "KpiItemsWritten": (MetricUnit.Count, "KPI items written to DynamoDB"),
    "AffectedDates": (MetricUnit.Count, "order dates recomputed"),
    "ArchivedFiles": (MetricUnit.Count, "inputs moved out of incoming/"),
    "FilesParsed": (MetricUnit.Count, "files a parse-file task stored a part of"),
    "ShardsValidated": (MetricUnit.Count, "shards a validate-shard task stored the outcome of"),
    "TransformGroups": (MetricUnit.Count, "groups (of dates, or pieces of cells) a plan-transform task made"),
    "StageDuration": (MetricUnit.Seconds, "wall time of the stage"),
}


# Powertools' Metrics instances share one metric set per process: tasks running as threads side
# by side (the local task runner) take turns on it, or one's document would hold the other's
_one_document_at_a_time = threading.Lock()


def emf_document(stage: str, values: dict[str, float]) -> dict[str, Any]:
    """One EMF document for a stage (unknown metric names are an error, not a silent drop)."""
    with _one_document_at_a_time:
        metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
        try:
            metrics.add_dimension(name="stage", value=stage)
            for name, value in values.items():
                unit, _ = METRICS[name]
                metrics.add_metric(name=name, unit=unit, value=value)
            return metrics.serialize_metric_set()
        finally:
            metrics.clear_metrics()


def emit_metrics(document: dict[str, Any], stream: TextIO | None = None) -> None:
    """An EMF document (emf_document) on stdout, where CloudWatch Logs extracts the metrics."""
    print(json.dumps(document), file=stream or sys.stdout, flush=True)
