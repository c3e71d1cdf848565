"""JSON sales files on the emulator (`ecompipe run DIR` with *.json beside the CSVs): each file
uploaded to incoming/ and run through its own execution of the real statemachine/sales.asl.json,
then the events queue consumed by the real handler, as the Lambda's event source mapping would."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from ecompipe.local.runner import LocalTaskRunner
from ecompipe.local.stack import deploy, deploy_sales
from ecompipe.local.starter import wait_for
from events import handler, poller, queues, resources
from events.outbox import parked_views

WAIT_SECONDS = 600


@dataclass
class SalesFile:
    """What happened to one file: its records sent, or the reason it was rejected."""

    name: str
    key: str
    status: str  # SUCCEEDED | FAILED | ...
    records: int = 0
    rejected: str | None = None  # the reason, when the file was rejected whole
    incomplete: int = 0  # its records parked in the sales DLQ
    mode: str = ""  # INLINE or DISTRIBUTED: how its records were mapped


@dataclass
class SalesRun:
    files: list[SalesFile] = field(default_factory=list)
    consumed: dict[str, Any] = field(default_factory=dict)


def run_sales_files(settings: Settings, files: list[Path]) -> SalesRun:
    """Upload, execute one workflow per file, wait for all, consume the queue; what happened."""
    sqs, sfn = aws.client("sqs", settings), aws.client("stepfunctions", settings)
    urls = resources.ensure(settings, aws.client("dynamodb", settings), sqs, aws.client("sns", settings))
    stack = deploy(settings, pipeline=False)
    arn = deploy_sales(settings, stack, urls["queue_url"], urls["sales_dlq_url"])
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    started = []
    with LocalTaskRunner(settings, stack.cluster_arn):  # a large file's split runs as an ECS task
        for path in files:
            key = layout.incoming_key(path.name)
            bucket.put_bytes(key, path.read_bytes(), "application/json")
            source = json.dumps({"bucket": settings.bucket, "key": key})
            execution = sfn.start_execution(stateMachineArn=arn, name=f"sales-{uuid.uuid4().hex}", input=source)
            started.append((path.name, key, execution["executionArn"]))
        run = SalesRun([_outcome(sfn, name, key, arn_) for name, key, arn_ in started])
    consumer = handler.consumer(settings)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # the handler's EMF lines
        poller.poll(sqs, urls["queue_url"], handler.make_handler(lambda: consumer), settings.region)
    run.consumed = consumer.tally.to_json()
    parked = [v for m in queues.peek(sqs, urls["sales_dlq_url"], 100_000) for v in parked_views(m["body"])]
    for f in run.files:
        f.incomplete = sum(1 for p in parked if p["file"] == f.key)
    return run


def _outcome(sfn: Any, name: str, key: str, execution_arn: str) -> SalesFile:
    described = wait_for(sfn, execution_arn, WAIT_SECONDS)
    if described["status"] == "SUCCEEDED":
        output = json.loads(described["output"])
        return SalesFile(name, key, "SUCCEEDED", records=int(output["records"]), mode=output["mode"])
    return SalesFile(name, key, described["status"], rejected=described.get("cause") or described.get("error"))
