"""The KPI tables in DynamoDB: creation, replace-by-date writes with retries, reads."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from ecompipe.aws import dynamo, tables
from ecompipe.core import kpis
from ecompipe.core.errors import EcompipeError
from ecompipe.core.settings import Settings

BY_DATE_INDEX = "by_order_date"
_BATCH = 25


class WriteFailed(EcompipeError):
    """DynamoDB kept items unprocessed after every retry."""


def table_definitions(settings: Settings) -> list[dict]:
    """CreateTable arguments of both KPI tables (on-demand)."""
    return [
        {
            "TableName": settings.order_table,
            "KeySchema": [{"AttributeName": "order_date", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "order_date", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": settings.category_table,
            "KeySchema": [
                {"AttributeName": "category", "KeyType": "HASH"},
                {"AttributeName": "order_date", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "category", "AttributeType": "S"},
                {"AttributeName": "order_date", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": BY_DATE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "order_date", "KeyType": "HASH"},
                        {"AttributeName": "category", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


class KpiStore:
    def __init__(
        self, dynamodb: Any, settings: Settings, sleep: Any = time.sleep, after_write: Callable[[], Any] = lambda: None
    ) -> None:
        self.db = dynamodb
        self.settings = settings
        self.sleep = sleep
        self.after_write = after_write  # told once the tables hold what a write put (ecompipe.batch.resources)

    def ensure_tables(self) -> None:
        """Create the KPI tables if missing (idempotent) and wait until they are active."""
        tables.ensure(self.db, table_definitions(self.settings))

    def replace_dates(self, dates: list[str], order_items: list[dict], category_items: list[dict]) -> int:
        """Make the tables hold exactly these items for `dates`: put them, and delete rows of those
        dates that no longer exist (an order moved away, a category with no items left). Items are
        pure functions of the curated data, so recomputing a date writes identical items; which run
        touched a date is in the run ledger and reports/<batch_id>/transform.json."""
        date_set = set(dates)
        orders = [i for i in order_items if i["order_date"] in date_set]
        categories = [i for i in category_items if i["order_date"] in date_set]
        keep_orders = {i["order_date"] for i in orders}
        keep_categories = {(i["category"], i["order_date"]) for i in categories}
        stale_categories = [
            k for k in self._category_keys(dates) if (k["category"], k["order_date"]) not in keep_categories
        ]
        requests = {
            self.settings.order_table: [{"PutRequest": {"Item": dynamo.dump(i)}} for i in orders]
            + [{"DeleteRequest": {"Key": dynamo.dump({"order_date": d})}} for d in sorted(date_set - keep_orders)],
            self.settings.category_table: [{"PutRequest": {"Item": dynamo.dump(i)}} for i in categories]
            + [{"DeleteRequest": {"Key": dynamo.dump(k)}} for k in stale_categories],
        }
        for table, reqs in requests.items():
            self._batch_write(table, reqs)
        self.after_write()
        return len(orders) + len(categories)

    def _category_keys(self, dates: Iterable[str]) -> list[dict]:
        keys: list[dict] = []
        for date in dates:
            pages = self.db.get_paginator("query").paginate(
                TableName=self.settings.category_table,
                IndexName=BY_DATE_INDEX,
                KeyConditionExpression="order_date = :d",
                ExpressionAttributeValues={":d": {"S": date}},
            )
            for page in pages:
                keys += [{"category": i["category"]["S"], "order_date": i["order_date"]["S"]} for i in page["Items"]]
        return keys

    def _batch_write(self, table: str, requests: list[dict]) -> None:
        """BatchWriteItem in chunks of 25; UnprocessedItems are retried with capped, jittered
        exponential backoff and never dropped (DESIGN §7)."""
        for start in range(0, len(requests), _BATCH):
            pending = {table: requests[start : start + _BATCH]}
            for attempt in range(self.settings.write_max_attempts):
                resp = self.db.batch_write_item(RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if not pending:
                    break
                self.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
            if pending:
                left = sum(len(v) for v in pending.values())
                raise WriteFailed(
                    f"{left} items still unprocessed in {table} after {self.settings.write_max_attempts} tries"
                )

    def order_kpis(self, date_from: str | None = None, date_to: str | None = None) -> list[dict]:
        """OrderKPIs rows in [date_from, date_to] (inclusive; open ends allowed), sorted by date."""
        items = self._scan(self.settings.order_table)
        return sorted(
            (i for i in items if _in_range(i["order_date"], date_from, date_to)), key=lambda i: i["order_date"]
        )

    def category_kpis(
        self, date_from: str | None = None, date_to: str | None = None, category: str | None = None
    ) -> list[dict]:
        """CategoryKPIs rows, sorted by date then category."""
        if category is not None:
            pages = self.db.get_paginator("query").paginate(
                TableName=self.settings.category_table,
                KeyConditionExpression="category = :c",
                ExpressionAttributeValues={":c": {"S": category}},
            )
            items = [_load(i) for page in pages for i in page["Items"]]
        else:
            items = self._scan(self.settings.category_table)
        chosen = (i for i in items if _in_range(i["order_date"], date_from, date_to))
        return sorted(chosen, key=lambda i: (i["order_date"], i["category"]))

    def _scan(self, table: str) -> list[dict]:
        pages = self.db.get_paginator("scan").paginate(TableName=table)
        return [_load(i) for page in pages for i in page["Items"]]


def _in_range(date: str, date_from: str | None, date_to: str | None) -> bool:
    return (date_from is None or date >= date_from) and (date_to is None or date <= date_to)


def _load(item: dict) -> dict:
    return dynamo.load(item, ints=kpis.COUNT_FIELDS)
