"""JSON sales files on the emulator (`ecompipe run DIR` with *.json beside the CSVs): each file
uploaded to incoming/ and run through its own execution of the real statemachine/sales.asl.json,
the events queue consumed by the real handler meanwhile, as the Lambda's event source mapping
would: each execution waits for its records to be judged and says how many were complete and how
many went to the sales DLQ."""

from __future__ import annotations

import contextlib
import json
import os
import time
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
from events import handler, poller, resources

WAIT_SECONDS = 600


@dataclass
class SalesFile:
    """What happened to one file: its records sent, or the reason it was rejected."""

    name: str
    key: str
    status: str  # SUCCEEDED | FAILED | ...
    records: int = 0
    rejected: str | None = None  # the reason, when the file was rejected whole
    complete: int = 0  # its records stored in the Sales table
    incomplete: int = 0  # its records parked in the sales DLQ
    all_judged: bool = True  # False: the workflow stopped waiting before every record was judged
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
    consumer = handler.consumer(settings)
    consume = handler.make_handler(lambda: consumer)
    with LocalTaskRunner(settings, stack.cluster_arn):  # a large file's split runs as an ECS task
        for path in files:
            key = layout.incoming_key(path.name)
            bucket.put_bytes(key, path.read_bytes(), "application/json")
            source = json.dumps({"bucket": settings.bucket, "key": key})
            execution = sfn.start_execution(stateMachineArn=arn, name=f"sales-{uuid.uuid4().hex}", input=source)
            started.append((path.name, key, execution["executionArn"]))
        described = consume_until_done(settings, sfn, sqs, urls["queue_url"], consume, [a for _, _, a in started])
    run = SalesRun([_outcome(name, key, described[arn_]) for name, key, arn_ in started])
    run.consumed = consumer.tally.to_json()
    return run


def consume_until_done(
    settings: Settings, sfn: Any, sqs: Any, queue_url: str, consume: Any, executions: list[str]
) -> dict[str, dict]:
    """Play the consumer's event source mapping while the executions run (each waits for its
    records to be judged); every execution as it ended."""
    deadline = time.monotonic() + WAIT_SECONDS
    ended: dict[str, dict] = {}
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # the handler's EMF lines
        while len(ended) < len(executions) and time.monotonic() < deadline:
            polled = poller.poll(sqs, queue_url, consume, settings.region)
            for arn in executions:
                if arn not in ended:
                    described = sfn.describe_execution(executionArn=arn)
                    if described["status"] != "RUNNING":
                        ended[arn] = described
            if not polled.received:
                time.sleep(0.2)
        poller.poll(sqs, queue_url, consume, settings.region)  # what came after the last look
    return {arn: ended.get(arn) or sfn.describe_execution(executionArn=arn) for arn in executions}


def _outcome(name: str, key: str, described: dict) -> SalesFile:
    if described["status"] == "SUCCEEDED":
        output = json.loads(described["output"])
        return SalesFile(
            name,
            key,
            "SUCCEEDED",
            records=int(output["records"]),
            complete=int(output["complete"]),
            incomplete=int(output["dlq"]),
            all_judged=bool(output["all_judged"]),
            mode=output["mode"],
        )
    return SalesFile(name, key, described["status"], rejected=described.get("cause") or described.get("error"))
