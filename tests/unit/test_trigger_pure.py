"""The trigger's pure parts: what an event names, and whether a batch is ready."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ecompipe.aws.objects import ObjectInfo
from ecompipe.core.settings import Settings
from tests.conftest import ROOT
from trigger.decision import decide
from trigger.events import parse

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_s3_notification_keys_are_url_decoded_and_filtered() -> None:
    event = {
        "Records": [
            {"s3": {"object": {"key": "incoming/orders_part%201+copy.csv"}}},
            {"s3": {"object": {"key": "processed/b/orders_part1.csv"}}},
            {"s3": {"object": {"key": "incoming/readme.txt"}}},
            {"s3": {"object": {"key": "incoming/sales_1.json"}}},
        ]
    }
    inv = parse(event)
    assert inv.source == "s3"
    # anything else in incoming/ goes with a batch, which takes or rejects it with a reason
    assert inv.keys == ["incoming/orders_part 1 copy.csv", "incoming/readme.txt"]
    assert inv.ignored == [
        ("processed/b/orders_part1.csv", "outside incoming/"),
        ("incoming/sales_1.json", "a JSON sales file: the sales workflow takes it"),
    ]


def test_eventbridge_schedule_and_unknown_events() -> None:
    created = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"object": {"key": "incoming/products.csv"}},
    }
    assert (parse(created).source, parse(created).keys) == ("eventbridge", ["incoming/products.csv"])
    assert parse({"source": "aws.events", "detail-type": "Scheduled Event"}).source == "schedule"
    assert parse({}).source == "manual" and parse(None).source == "manual"


def _files(names: list[str], age_minutes: float = 1) -> list[ObjectInfo]:
    return [ObjectInfo(f"incoming/{n}", 10, "e", NOW - timedelta(minutes=age_minutes)) for n in names]


FULL = [*(f"orders_{i}.csv" for i in range(5)), *(f"order_items_{i}.csv" for i in range(5)), "products.csv"]


def test_thresholds() -> None:
    s = Settings()
    assert decide(_files(FULL), False, s, NOW).start
    short = decide(_files(FULL[:2] + FULL[5:]), False, s, NOW)
    assert not short.start and "2/5 order files" in short.reason
    no_products = decide(_files(FULL[:-1]), False, s, NOW)
    assert not no_products.start and "0/1 product files" in no_products.reason
    assert decide(_files(FULL[:-1]), True, s, NOW).start  # products already curated count
    assert not decide([], True, s, NOW).start


def test_force_after_starts_with_what_is_there() -> None:
    s = Settings(force_after_minutes=30)
    assert not decide(_files(["orders_1.csv"], age_minutes=29), False, s, NOW).start
    forced = decide(_files(["orders_1.csv"], age_minutes=31), False, s, NOW)
    assert forced.start and "FORCE_AFTER" in forced.reason


def test_a_landed_pair_of_event_purchases_starts_its_batch_at_once() -> None:
    from ecompipe.core.event_layout import landed_file_names

    s = Settings(force_after_minutes=30)
    orders, items = landed_file_names("20261206T101500000000Z")
    assert not decide(_files([items]), True, s, NOW).start  # the items first: the orders file is on its way
    both = decide(_files([items, orders, "orders_1.csv"]), True, s, NOW)
    assert both.start and "event purchases landed" in both.reason
    assert not decide(_files([items, "orders_events_other.csv"]), True, s, NOW).start  # two halves of two pairs


@pytest.mark.parametrize("package", ["trigger", "events.handler"])
def test_importing_a_lambda_leaves_pandas_out(package: str) -> None:
    code = (
        f"import sys, {package}; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'pandera', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["trigger", "events.handler"])
def test_the_lambda_bundle_declares_what_each_lambda_imports(package: str) -> None:
    """Every third-party module a Lambda's import loads is in the Lambda runtime or requirements/lambda.in
    (the ranges that `python3 .ci/lock` resolves into requirements.txt, the bundle's lock)."""
    code = (
        f"import sys, {package}\n"
        "names = {m.split('.')[0] for m in sys.modules}\n"
        "print(' '.join(sorted(n for n in names if n not in sys.stdlib_module_names and not n.startswith('_'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    # in the Lambda runtime (certifi: botocore uses it when present, else its own CA bundle)
    runtime = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six", "certifi"}
    ours = {"ecompipe", "trigger", "events"}
    declared = {
        line.split(">")[0].split("=")[0].split("[")[0].strip().replace("-", "_")
        for line in (ROOT / "requirements" / "lambda.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # what the declared packages bring themselves (typing_extensions: powertools'; the rest pydantic's,
    # and aws_xray_sdk's: wrapt)
    brought = {"typing_extensions", "pydantic_core", "annotated_types", "typing_inspection", "wrapt"}
    extra = loaded - runtime - ours - declared - brought
    assert not extra, f"{package} loads {sorted(extra)}: add them to requirements/lambda.in"


def test_a_cli_owner_is_alive_only_while_its_own_process_runs() -> None:
    """cli:HOST:PID:START: a pid now running another process (another start time) is not the owner."""
    import os
    import socket

    from ecompipe.aws.lock import cli_owner, owner_alive

    mine = cli_owner()
    kind, host, pid, start = mine.split(":")
    assert (kind, host, pid) == ("cli", socket.gethostname(), str(os.getpid())) and start.isdigit()
    assert owner_alive(mine) is True
    assert owner_alive(f"cli:{host}:{pid}:{int(start) + 1}") is False  # the pid was given to a later process
    assert owner_alive(f"cli:{host}:{pid}") is True  # an owner written before start times were: by pid
    assert owner_alive(f"cli:{host}:999999999:1") is False
    assert owner_alive(f"cli:another-host:{pid}:{start}") is None  # cannot be told from here
    assert owner_alive("trigger:run-1") is None
