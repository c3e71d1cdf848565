"""Creating DynamoDB tables, once for every writer (KPI store, ledger, the events tables)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ecompipe.core.errors import error_code


def ensure(db: Any, definitions: list[dict], ttl: dict[str, str] | None = None) -> None:
    """Create each table if missing (idempotent), wait until all are active, and switch on TTL for
    the tables named in `ttl` (table name -> attribute)."""
    for definition in definitions:
        try:
            db.create_table(**definition)
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise
    for definition in definitions:
        db.get_waiter("table_exists").wait(
            TableName=definition["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    for table, attribute in (ttl or {}).items():
        db.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})


def on_demand(name: str, keys: list[tuple[str, str]]) -> dict:
    """A pay-per-request table keyed by string attributes: [(hash,'S')] or [(hash,'S'),(range,'S')]."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in keys],
        "KeySchema": [{"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (k, _t) in enumerate(keys)],
    }
