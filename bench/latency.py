"""Event purchases in the KPIs: how long from the consumer storing a purchase until a batch holding
it has committed its KPIs (issue 40, section 4: ≤ 2 minutes at the 95th percentile).

Against the embedded emulator (moto's server in its own process), as the stack runs on AWS:
- a producer sends purchases of today at a steady rate (`--rate` per second, `--minutes` long);
- the consumer (the real handler, as the event source mapping calls it) stores them and marks them;
- the landing lands every ECOMPIPE_LANDING_SECONDS (`--landing-seconds`, 15 as on AWS) and, as the
  orders file's S3 event does on AWS, the trigger's sweep runs: a landed pair starts its batch at
  once (trigger.decision);
- each batch is an execution of the real pipeline state machine, its ECS tasks run as
  subprocesses by the local task runner (each a fresh interpreter, as a container is).

A purchase's latency is from the end of the consumer batch that stored it to the moment the bench
sees the execution of the batch that landed it succeed (its KPIs were written before that). The
date fills as it runs (`--preload-items` starts it full): the latency is printed per minute with
the items the date held. At the end the KPIs of the day must count every purchase once: the same
orders and revenue as the purchases sent.

On AWS the same path is modelled from the stack's settings: the landing's wait (ECOMPIPE_LANDING_
SECONDS, at its 95th percentile), the S3 event to the trigger (EVENT_TO_TRIGGER_S), one Fargate task
start per task the batch takes (bench/scale.py's assumption; a small batch takes one:
ECOMPIPE_ONE_TASK_MAX_MB), and the batch's run as measured here at its 95th percentile.

    python bench/latency.py --rate 2 --minutes 5
    python bench/latency.py --rate 2 --minutes 5 --preload-items 200000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

from bench.scale import Aws  # noqa: E402
from ecompipe.aws import clients as aws  # noqa: E402
from ecompipe.aws.objects import Bucket  # noqa: E402
from ecompipe.batch.resources import Resources  # noqa: E402
from ecompipe.core import layout  # noqa: E402
from ecompipe.core.settings import Settings  # noqa: E402
from ecompipe.local.emulator import EmulatorProcess  # noqa: E402
from ecompipe.local.runner import LocalTaskRunner  # noqa: E402
from ecompipe.local.stack import deploy  # noqa: E402
from events import handler, landing, poller, producer, queues, resources  # noqa: E402
from trigger.starters import StepFunctionsStarter  # noqa: E402
from trigger.sweep import sweep  # noqa: E402

TARGET_P95_SECONDS = 120
# S3 "Object Created" through EventBridge to the trigger Lambda, then its sweep: ASSUMED, not measured
EVENT_TO_TRIGGER_S = 2.0


def _catalogue(pool: int) -> bytes:
    categories = ["Jeans", "Outerwear", "Accessories"]
    rows = "".join(f"{n},{categories[n % 3]},Product {n},10.00\n" for n in range(1, pool + 1))
    return ("product_id,category,name,price\n" + rows).encode()


def _purchases(count: int, today: str) -> list[dict]:
    """The producer's purchases, each with its own id, bought today (the date that fills)."""
    out = []
    for i, body in enumerate(producer.payloads(count, seed=7, kinds=("purchases",))):
        purchase = json.loads(body)
        purchase.update(purchase_id=f"lat-{i}", purchased_at=f"{today}T{datetime.now(UTC):%H:%M:%S}Z")
        out.append(purchase)
    return out


class Bench:
    def __init__(self, settings: Settings, stack, args: argparse.Namespace) -> None:
        self.settings, self.stack, self.args = settings, stack, args
        self.res = Resources.from_settings(settings)
        self.sqs, self.sfn = aws.client("sqs", settings), aws.client("stepfunctions", settings)
        self.bucket = Bucket(aws.client("s3", settings), settings.bucket)
        self.queue_url = queues.queue_url(self.sqs, settings.events_queue)
        self.consumed: dict[str, float] = {}  # purchase id -> when its consumer batch ended
        self.runs: list[dict] = []  # {execution, ids, started, done}
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def produce(self, purchases: list[dict]) -> None:
        url = self.queue_url
        interval = 1 / self.args.rate
        begun = time.monotonic()
        for i, purchase in enumerate(purchases):
            time.sleep(max(0.0, begun + i * interval - time.monotonic()))
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(purchase))

    def consume(self) -> None:
        consumer = handler.consumer(self.settings)
        handle = handler.make_handler(lambda: consumer)

        def timed(event: dict, context: object) -> dict:
            response = handle(event, context)
            now = time.monotonic()
            with self.lock:
                for record in event["Records"]:
                    self.consumed.setdefault(str(json.loads(record["body"])["purchase_id"]), now)
            return response

        with open(os.devnull, "w") as sink:
            stdout, sys.stdout = sys.stdout, sink  # (the handler's EMF lines)
            try:
                while not self.stop.is_set():
                    if not poller.poll(self.sqs, self.queue_url, timed, self.settings.region).received:
                        time.sleep(0.2)
            finally:
                sys.stdout = stdout

    def land(self) -> None:
        starter = StepFunctionsStarter(self.sfn, self.stack.state_machine_arn)
        dynamodb, leases = aws.client("dynamodb", self.settings), self.res.leases()
        while not self.stop.wait(self.args.landing_seconds):
            landed = landing.land(self.settings, dynamodb, self.bucket)
            if not landed.files:
                continue
            ids = [line.split(",", 1)[0] for key in landed.files if "/orders_" in key
                   for line in self.bucket.get_bytes(key).decode().splitlines()[1:]]  # fmt: skip
            result = sweep(self.settings, self.bucket, leases, starter, owner="bench:latency", ledger=self.res.ledger)
            with self.lock:
                self.runs.append({"execution": result.execution, "ids": ids, "started": time.monotonic(),
                                  "done": None, "reason": result.reason})  # fmt: skip

    def watch(self) -> None:
        while not self.stop.wait(0.5):
            with self.lock:
                waiting = [r for r in self.runs if r["done"] is None and r["execution"]]
            for run in waiting:
                status = self.sfn.describe_execution(executionArn=run["execution"])["status"]
                if status != "RUNNING":
                    run["done"], run["status"] = time.monotonic(), status


def _preload(settings: Settings, stack, items: int, today: str, pool: int) -> float:
    """A drop of `items` items all on today's date, committed before the measurement."""
    from ecompipe.local.generate import Spec, generate
    from ecompipe.local.starter import run_via_state_machine

    res = Resources.from_settings(settings)
    files = generate(Spec(items, days=1, files=2, start=today, first_id=10_000_000))
    files["products.csv"] = _catalogue(pool)
    named = {name.replace(".csv", "_preload.csv"): data for name, data in files.items()}  # (kinds go by name)
    keys = [res.bucket.put(layout.incoming_key(name), data) for name, data in named.items()]
    started = time.monotonic()
    execution, result = run_via_state_machine(res, stack, keys, "bench:preload", runner_mode="subprocess")
    if execution["status"] != "SUCCEEDED" or result is None or result.report["totals"]["rejected"]:
        raise SystemExit(f"the preload failed: {execution.get('cause') or execution['status']}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2.0, help="purchases sent per second")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long purchases are sent")
    parser.add_argument("--landing-seconds", type=int, default=Settings().landing_seconds)
    parser.add_argument("--preload-items", type=int, default=0, help="items on today's date before the measurement")
    parser.add_argument("--workers", type=int, default=2, help="ECS tasks run at once by the local task runner")
    args = parser.parse_args()
    today = datetime.now(UTC).date().isoformat()
    count = int(args.rate * args.minutes * 60)
    purchases = _purchases(count, today)
    pool = max(10, count // 10)
    with EmulatorProcess() as url:
        settings = Settings(bucket="ecompipe-latency", landing_seconds=args.landing_seconds).with_endpoint(url)
        res = Resources.from_settings(settings)
        res.init()
        clients = (aws.client(name, settings) for name in ("dynamodb", "sqs", "sns"))
        resources.ensure(settings, *clients)
        stack = deploy(settings)
        with LocalTaskRunner(settings, stack.cluster_arn, "subprocess", workers=args.workers):
            preload = _preload(settings, stack, args.preload_items, today, pool) if args.preload_items else None
            if preload is None:  # the catalogue alone, so the purchases' products are known
                res.bucket.put(layout.incoming_key("products.csv"), _catalogue(pool))
            before = _day(res, today)
            bench = Bench(settings, stack, args)
            threads = [threading.Thread(target=f, daemon=True) for f in (bench.consume, bench.land, bench.watch)]
            for t in threads:
                t.start()
            began = time.monotonic()
            bench.produce(purchases)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:  # until every purchase is in a finished batch
                with bench.lock:
                    shown = {i for r in bench.runs if r["done"] for i in r["ids"]}
                    busy = any(r["done"] is None and r["execution"] for r in bench.runs)
                if len(shown) >= count and not busy:
                    break
                time.sleep(1)
            bench.stop.set()
            for t in threads:
                t.join(timeout=30)
            after = _day(res, today)
    print(json.dumps(_report(bench, purchases, began, args, preload, before, after), indent=2))


def _day(res: Resources, today: str) -> tuple[int, Decimal]:
    """(orders, revenue) of today's KPIs."""
    rows = res.kpis.order_kpis(today, today)
    return (int(rows[0]["total_orders"]), Decimal(str(rows[0]["total_revenue"]))) if rows else (0, Decimal("0.00"))


def _revenue(purchase: dict) -> Decimal:
    """The purchase's line amounts as the batch counts them: lines of one product at one price are
    one row; a product's lines at a second price are a duplicate key, rejected (docs/events.md)."""
    first_price: dict[str, Decimal] = {}
    total = Decimal("0.00")
    for line in purchase["items"]:
        price = Decimal(str(line["price"])).quantize(Decimal("0.01"))
        if first_price.setdefault(str(line["product_id"]), price) == price:
            total += price * int(line["quantity"])
    return total


def _p95(ordered: list[float]) -> float | None:
    return round(ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else None


def _report(bench: Bench, purchases: list[dict], began: float, args, preload, before, after) -> dict:
    shown_at = {}
    for run in bench.runs:
        if run["done"] and run.get("status") == "SUCCEEDED":
            for i in run["ids"]:
                shown_at.setdefault(i, run["done"])
    latencies = sorted(shown_at[i] - bench.consumed[i] for i in shown_at if i in bench.consumed)
    durations = sorted(r["done"] - r["started"] for r in bench.runs if r["done"] and r.get("status") == "SUCCEEDED")
    run_p95 = _p95(durations)
    tasks = 1 if Settings().one_task_max_mb else 3
    aws_p95 = 0.95 * args.landing_seconds + EVENT_TO_TRIGGER_S + tasks * Aws().task_start_s + (run_p95 or 0)
    by_minute: dict[int, list[float]] = {}
    for i in shown_at:
        if i in bench.consumed:
            by_minute.setdefault(int((bench.consumed[i] - began) // 60), []).append(shown_at[i] - bench.consumed[i])
    sold = [p for p in purchases if p.get("status") != "cancelled"]
    expected = (len(purchases), sum((_revenue(p) for p in sold), Decimal("0.00")))
    counted = (after[0] - before[0], after[1] - before[1])
    return {
        "rate_per_second": args.rate,
        "minutes": args.minutes,
        "landing_seconds": args.landing_seconds,
        "preload_items": args.preload_items,
        "preload_seconds": round(preload, 1) if preload else None,
        "purchases": len(purchases),
        "consumed": len(bench.consumed),
        "in_kpis": len(shown_at),
        "batches": len(bench.runs),
        "failed_batches": sum(1 for r in bench.runs if r.get("status") not in (None, "SUCCEEDED")),
        "latency_seconds": {
            "p50": round(statistics.median(latencies), 1) if latencies else None,
            "p95": _p95(latencies),
            "max": round(latencies[-1], 1) if latencies else None,
        },
        "p95_by_minute": {m: _p95(sorted(v)) for m, v in sorted(by_minute.items())},
        "batch_run_seconds": {"p50": round(statistics.median(durations), 1) if durations else None, "p95": run_p95},
        "aws_model_p95_seconds": {
            "landing_wait": round(0.95 * args.landing_seconds, 1),
            "event_to_trigger": EVENT_TO_TRIGGER_S,
            "task_starts": f"{tasks} x {Aws().task_start_s:.0f}",
            "batch_run_measured_here": run_p95,
            "total": round(aws_p95, 1),
        },
        "target_p95_seconds": TARGET_P95_SECONDS,
        "kpis_today_added": {"orders": counted[0], "revenue": str(counted[1])},
        "purchases_sent": {"orders": expected[0], "revenue": str(expected[1])},
        "counted_once": counted == expected,
    }


if __name__ == "__main__":
    main()
