"""What each sales workflow execution's records came to (docs/events.md, "Sales files"): the
consumer counts a record of execution RUN once as complete (stored: applied, or a repeat of a
stored one) or parked (incomplete: in the sales DLQ), and the workflow waits until the counts add
up to its records, then says them in its output.

One table (ECOMPIPE_SALES_RUNS_TABLE, key `id`): per execution its counts (`id` = the execution's
name: `complete`, `dlq`), and per record judged a marker (`id` = `<run>#<index>`); both written in
one transaction, the marker only if absent, so a record delivered twice is counted once. Items
expire after RETENTION_DAYS (DynamoDB TTL on `expires_at`)."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.aws import dynamo
from ecompipe.core.errors import error_code
from ecompipe.core.settings import Settings

COMPLETE, DLQ = "complete", "dlq"
RETENTION_DAYS = 14


def judged(dynamodb: Any, settings: Settings, run: str, index: int, outcome: str) -> bool:
    """Count record `index` of execution `run` as `outcome` (COMPLETE or DLQ), once; False when it
    was counted before."""
    table = settings.sales_runs_table
    expires = int(time.time()) + RETENTION_DAYS * 86400
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": dynamo.dump({"id": f"{run}#{index}", "outcome": outcome, "expires_at": expires}),
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": dynamo.dump({"id": run}),
                        "UpdateExpression": "ADD #complete :c, #dlq :d SET expires_at = :e",
                        "ExpressionAttributeNames": {"#complete": COMPLETE, "#dlq": DLQ},
                        "ExpressionAttributeValues": dynamo.dump(
                            {":c": int(outcome == COMPLETE), ":d": int(outcome == DLQ), ":e": expires}
                        ),
                    }
                },
            ]
        )
    except ClientError as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
            return False
        raise
    return True


def counts(dynamodb: Any, settings: Settings, run: str) -> dict[str, int]:
    """An execution's counts so far (what its workflow reads with dynamodb:getItem)."""
    got = dynamodb.get_item(TableName=settings.sales_runs_table, Key=dynamo.dump({"id": run}), ConsistentRead=True)
    item = dynamo.load(got.get("Item", {}))
    return {COMPLETE: int(item.get(COMPLETE, 0)), DLQ: int(item.get(DLQ, 0))}
