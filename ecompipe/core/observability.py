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
from typing import Any, TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "ecompipe"
NAMESPACE = "ecompipe"

logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr), level="INFO")


def bind(run_id: str, batch_id: str, stage: str) -> None:
    """Every following log line carries these keys (and none left from an earlier stage)."""
    logger.clear_state()
    logger.append_keys(run_id=run_id, batch_id=batch_id, stage=stage)


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
    "TransformGroups": (MetricUnit.Count, "groups of dates a plan-transform task made"),
    "StageDuration": (MetricUnit.Seconds, "wall time of the stage"),
}


def emf_document(stage: str, values: dict[str, float]) -> dict[str, Any]:
    """One EMF document for a stage (unknown metric names are an error, not a silent drop)."""
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_dimension(name="stage", value=stage)
    for name, value in values.items():
        unit, _ = METRICS[name]
        metrics.add_metric(name=name, unit=unit, value=value)
    doc = metrics.serialize_metric_set()
    metrics.clear_metrics()
    return doc


def emit_metrics(document: dict[str, Any], stream: TextIO | None = None) -> None:
    """An EMF document (emf_document) on stdout, where CloudWatch Logs extracts the metrics."""
    print(json.dumps(document), file=stream or sys.stdout, flush=True)
