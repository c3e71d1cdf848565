"""The Lambda entry point: trigger.handler(event, context)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws.ledger import Ledger
from ecompipe.aws.lock import LeaseStore
from ecompipe.aws.objects import Bucket
from ecompipe.core.errors import SettingsError
from ecompipe.core.observability import logger
from ecompipe.core.settings import Settings
from trigger.events import parse
from trigger.starters import StepFunctionsStarter
from trigger.sweep import sweep


@functools.lru_cache(maxsize=4)
def _clients(settings: Settings) -> tuple[Bucket, LeaseStore, StepFunctionsStarter, Ledger]:
    """Built once per container (and per settings), reused by warm invocations."""
    if not settings.state_machine_arn:
        raise SettingsError("ECOMPIPE_STATE_MACHINE_ARN is not set: the trigger has nothing to start")
    s3 = aws.client("s3", settings)
    return (
        Bucket(s3, settings.bucket),
        LeaseStore(s3, settings.bucket, timedelta(minutes=settings.lock_ttl_minutes)),
        StepFunctionsStarter(aws.client("stepfunctions", settings), settings.state_machine_arn),
        Ledger(aws.client("dynamodb", settings), settings),
    )


def handler(event: dict[str, Any] | None, context: Any = None) -> dict[str, Any]:
    """Sweep incoming/ on any S3 / EventBridge / schedule event; start a batch when it is ready."""
    settings = Settings.from_env()
    invocation = parse(event)
    logger.clear_state()
    logger.append_keys(stage="trigger", source=invocation.source, request_id=getattr(context, "aws_request_id", None))
    for key, why in invocation.ignored:
        logger.info("ignored %s: %s", key, why)
    bucket, leases, starter, ledger = _clients(settings)
    request = getattr(context, "aws_request_id", None) or "local"
    result = sweep(settings, bucket, leases, starter, owner=f"trigger:{request}", ledger=ledger)
    logger.info("trigger summary", extra={"started": result.started, "reason": result.reason, "counts": result.counts})
    return {
        **result.to_json(),
        "source": invocation.source,
        "ignored": [{"key": k, "why": w} for k, w in invocation.ignored],
    }
