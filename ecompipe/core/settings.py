"""One frozen settings object, built once from ECOMPIPE_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from ecompipe.core import money
from ecompipe.core.errors import SettingsError

PREFIX = "ECOMPIPE_"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field `x` is read from ECOMPIPE_X."""

    bucket: str = "ecompipe-local"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    category_table: str = "CategoryKPIs"
    order_table: str = "OrderKPIs"
    runs_table: str = "PipelineRuns"
    pending_max_age_days: int = 7
    report_examples: int = 20
    aws_max_attempts: int = 8
    write_max_attempts: int = 10
    # the trigger: when is a batch ready, and the lease that makes exactly one run take it
    min_order_files: int = 5
    min_item_files: int = 5
    min_product_files: int = 1
    force_after_minutes: int = 30
    lock_ttl_minutes: int = 120
    task_timeout_seconds: int = 1800
    # automatic batches take files up to this many MiB (the first file always), so one task's
    # memory stays bounded however much lands at once; 0 = no limit. Validation peaks at ~23x the
    # batch's CSV bytes with 1% bad rows (docs/benchmarks.md): 128 MiB fits the 4 GiB task.
    max_batch_mb: int = 128
    # a file larger than this is rejected unread (its copy lands in rejected/); 0 = no limit
    max_file_mb: int = 128
    # a batch of several files holding at least this many MiB is parsed file by file in parallel
    # (the state machine's Distributed Map, at most fan_out_concurrency at a time) before the
    # batch-wide checks; smaller ones take one validate task. 0 = every batch of several files.
    fan_out_min_mb: int = 64
    one_task_max_mb: int = 16  # a batch up to this size (not fanned out) runs as one task: validate, transform, archive
    # 1 = no batch fans out (trigger.decision.fans_out)
    fan_out_concurrency: int = 40
    state_machine_arn: str | None = None
    # how `ecompipe run` executes a batch: through the emulated state machine, or its steps directly
    run_via: str = "statemachine"
    log_level: str = "INFO"
    # `ecompipe serve`: when set, every /api route needs it in the X-API-Key header
    api_key: str | None = None
    # the events workload (docs/events.md): one table per entity, the queue and its DLQ, the alerts
    customers_table: str = "Customers"
    purchases_table: str = "Purchases"
    products_table: str = "Products"
    subscriptions_table: str = "Subscriptions"
    activity_table: str = "UserActivity"
    inventory_table: str = "Inventory"
    sales_table: str = "Sales"  # the records of JSON sales files
    sales_dlq: str = "ecompipe-sales-dlq"  # incomplete sales records, with the part missing or bad
    sales_runs_table: str = "SalesRuns"  # per sales workflow execution: its records complete and parked
    sales_judge_minutes: int = 30  # a sales workflow waits at most this long for its records to be judged
    # a sales file up to this size is read into the workflow's state (INLINE Map; AWS caps a state at
    # 256 KiB); a larger one is split by a task and read by a DISTRIBUTED Map
    sales_inline_max_bytes: int = 200_000
    idempotency_table: str = "EventIdempotency"
    events_queue: str = "ecompipe-events"  # a queue name, or its URL
    events_dlq: str = "ecompipe-events-dlq"
    max_receive_count: int = 5  # deliveries before a message that keeps failing moves to the DLQ
    alerts_topic: str = "ecompipe-alerts"  # a topic name, or its ARN
    large_order_total: str = "1000"  # a purchase total at or above this is a large order
    low_stock_threshold: int = 10  # where an inventory event names no stock_threshold
    landing_seconds: int = 15  # the landing Lambda (every minute) lands event purchases this often
    summary_minutes: int = 60  # the events summary on the alerts topic covers this many minutes (its schedule)
    sales_warehouse: str = "main"  # where a purchase's items take stock when neither names a warehouse
    activity_ttl_days: int = 90  # user activity expires (DynamoDB TTL) this long after it arrives
    claim_check_kb: int = 300  # an entity item above this keeps its payload in S3 (DynamoDB's cap: 400)
    # questions over the data (docs/queries.md): the answer's row limit and time limit, where the
    # embedded engine keeps its copy of curated/ (empty: a folder under the user's cache), and Athena
    query_max_rows: int = 10_000
    query_timeout_seconds: int = 30
    query_cache_dir: str = ""
    athena_workgroup: str = "ecompipe"
    athena_database: str = "ecompipe"

    def __repr__(self) -> str:  # never print the API key
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["api_key"] = "***" if self.api_key else None
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ECOMPIPE_* variables (AWS_REGION / AWS_DEFAULT_REGION as the region fallback)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw.strip())
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for values no run could use."""
        at_least = {
            "report_examples": 1,
            "aws_max_attempts": 1,
            "write_max_attempts": 1,
            "lock_ttl_minutes": 1,
            "task_timeout_seconds": 1,
            "max_receive_count": 1,
            "activity_ttl_days": 1,
            "claim_check_kb": 1,
            "query_max_rows": 1,
            "query_timeout_seconds": 1,
            "fan_out_concurrency": 1,
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and value < at_least.get(f.name, 0):
                low = at_least.get(f.name, 0)
                raise SettingsError(f"{PREFIX}{f.name.upper()} must be a whole number >= {low}, not {value}")
        # the lease must outlive a run: three tasks at most, each bounded by the task timeout
        if self.lock_ttl_minutes * 60 <= 3 * self.task_timeout_seconds:
            raise SettingsError(
                f"{PREFIX}LOCK_TTL_MINUTES ({self.lock_ttl_minutes}) must exceed three task timeouts "
                f"({PREFIX}TASK_TIMEOUT_SECONDS={self.task_timeout_seconds}): a live run must never lose its lease"
            )
        if self.run_via not in ("statemachine", "direct"):
            raise SettingsError(f"{PREFIX}RUN_VIA must be statemachine or direct, not {self.run_via!r}")
        if self.claim_check_kb > 380:
            raise SettingsError(f"{PREFIX}CLAIM_CHECK_KB must leave room under DynamoDB's 400 KB item limit (<= 380)")
        cents, why = money.decimal_cents(self.large_order_total)
        if cents is None:
            raise SettingsError(f"{PREFIX}LARGE_ORDER_TOTAL={self.large_order_total!r} is not an amount ({why})")
        if not self.bucket:
            raise SettingsError(f"{PREFIX}BUCKET must not be empty")

    def with_endpoint(self, endpoint_url: str | None) -> Settings:
        """A copy pointing at another endpoint (None keeps the current one)."""
        return self if endpoint_url is None else replace(self, endpoint_url=endpoint_url)


def _convert(name: str, annotation: object, raw: str) -> object:
    if "int" in str(annotation):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a whole number") from None
    return raw
