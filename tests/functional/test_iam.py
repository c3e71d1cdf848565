"""The template's IAM against what the code does: every S3 call the trigger and each ECS task
make on moto, from a first run on an empty bucket through a fanned-out one, is one their role
allows on AWS — including the 404 of a read that finds nothing (tests/support/iam.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from ecompipe.aws.claims import Claims
from ecompipe.batch import tasks
from ecompipe.batch.resources import Resources
from ecompipe.core import event_layout, fan_layout, layout
from ecompipe.core.taskenv import TaskInput
from tests.support import iam, sam
from tests.support.helpers import put_files
from trigger.sweep import sweep

pytestmark = pytest.mark.functional

ORDERS = b"order_id,user_id,order_date,total_amount,status\n1,5,2025-06-01,20.00,delivered\n"
ITEMS = b"order_id,product_id,quantity,unit_price\n1,1,2,10.00\n2,1,1,10.00\n"  # order 2 not yet known
PRODUCTS = b"product_id,category,name,price\n1,Books,A,10.00\n"
LATER = b"order_id,user_id,order_date,total_amount,status\n2,6,2025-06-02,10.00,shipped\n3,7,2025-06-01,0,shipped\n"


class Started:
    """The state machine's start, as the trigger calls it (its input is what the tasks run on)."""

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def start(self, run_id: str, execution_input: dict[str, Any]) -> str:
        self.inputs.append(execution_input)
        return f"execution:{run_id}"


Recorded = dict[str, tuple[list[iam.Call], list[iam.Call]]]  # component -> (S3 calls, DynamoDB calls)


class Recording:
    """The S3 and DynamoDB calls of one component, added to what it made before."""

    def __init__(self, recorded: Recorded, component: str, s3: Any, dynamodb: Any) -> None:
        self.recorded, self.component = recorded, component
        self.recorders = (iam.Recorder(s3), iam.Recorder(dynamodb))

    def __enter__(self) -> None:
        for r in self.recorders:
            r.__enter__()

    def __exit__(self, *exc: object) -> None:
        for r in self.recorders:
            r.__exit__(*exc)
        s3, db = self.recorded.setdefault(self.component, ([], []))
        s3 += self.recorders[0].calls
        db += self.recorders[1].calls


def _run(res: Resources, recorded: Recorded, fan_out: bool, overtaken: bool = False, whole: bool = False) -> str:
    """One batch as the state machine runs it: the trigger's sweep, then each task, with every call
    recorded under the component that made it. `overtaken`: another batch committed between its
    validation and its commit, so its commit rechecks its held items and the pending set. `whole`:
    the one task of a small batch (`ecompipe task batch`) runs every stage."""

    def component(name: str) -> Recording:
        return Recording(recorded, name, res.bucket.s3, res.kpis.db)

    starter = Started()
    with component("trigger"):
        result = sweep(res.settings, res.bucket, res.leases(), starter, owner="trigger:test", explicit=True)
    assert result.started, result.reason
    run = starter.inputs[0]
    task = TaskInput(run["run_id"], run["batch_id"])
    if whole:
        with component("batch"):
            tasks.run("batch", res, task)
        claims = Claims(res.leases())
        assert claims.release(next(c for c in claims.all() if c.run_id == run["run_id"]))
        return run["batch_id"]
    steps = [("parse-file", replace(task, file_key=k)) for k in result.files] if fan_out else []
    if fan_out:
        shards = res.bucket.get_json(run["shards_key"])
        steps += [("validate-shard", replace(task, shard=int(s["shard"]))) for s in shards]
    steps += [("validate", task)] + ([("plan-transform", task)] if fan_out else [])
    for command, step in steps:
        with component(command):
            done = tasks.run(command, res, step)
        if command == "validate" and fan_out:  # (the shards' outcomes merged: their calls are checked too)
            assert res.bucket.get_json(layout.report_key(task.batch_id))["fan_out"]["validated_in_shards"] > 1, done
    groups = res.bucket.get_json(run["transform_groups_key"]) if fan_out else []
    for group in groups:
        with component("transform-group"):
            tasks.run("transform-group", res, replace(task, group=int(group["group"])))
    if overtaken:
        res.bucket.put_json(layout.validated_against_key(task.batch_id), {"pending_etag": "another batch's"})
    for command in ("transform", "archive"):
        with component(command):
            tasks.run(command, res, task)
    assert res.leases().current() is None  # the archive freed the commit lease
    claims = Claims(res.leases())
    assert claims.release(next(c for c in claims.all() if c.run_id == run["run_id"]))  # the state machine's Release
    return run["batch_id"]


def _refused(recorded: Recorded, template: dict, settings: Any, role_of: dict[str, tuple[list, str]]) -> list[str]:
    """Every call AWS would refuse, as 'component: call: why'. role_of: component -> (its policy
    statements, the resource whose environment names its tables)."""
    out = []
    for component, (s3_calls, db_calls) in recorded.items():
        statements, holder = role_of[component]
        found = iam.refusals(s3_calls, iam.s3_statements(statements, settings.bucket), settings.bucket)
        found += iam.table_refusals(
            db_calls, iam.dynamodb_statements(statements, template), iam.environment_of(template, holder), settings
        )
        out += [f"{component}: {f}" for f in found]
    return out


def test_every_call_of_the_trigger_and_the_tasks_is_allowed_by_its_role(resources, monkeypatch) -> None:
    monkeypatch.setattr(fan_layout, "SHARD_ROWS", 2)  # the fanned-out batch in shards, merged by validate
    res = replace(resources, settings=replace(resources.settings, fan_out_min_mb=0, fan_out_concurrency=2))
    recorded: Recorded = {}
    put_files(res, {"orders_a.csv": ORDERS, "order_items_a.csv": ITEMS, "products.csv": PRODUCTS})
    _run(res, recorded, fan_out=False)  # a first batch: no catalogue, pending set, key index or backlog yet
    put_files(res, {"orders_b.csv": LATER, "orders_c.csv": ORDERS})
    _run(res, recorded, fan_out=True)  # the held item resolves; parse-file and transform-group run
    put_files(res, {"orders_d.csv": LATER.replace(b"2,6", b"4,6"), "products_d.csv": PRODUCTS})
    batch_id = _run(res, recorded, fan_out=False, overtaken=True)  # transform rechecks, updating the report
    assert "rechecked_at_commit" in res.bucket.get_json(layout.report_key(batch_id))
    put_files(res, {"orders_e.csv": LATER.replace(b"2,6", b"5,6"), "order_items_e.csv": ITEMS})
    _run(res, recorded, fan_out=False, whole=True)  # a small batch in one task
    assert set(recorded) == {"trigger", *tasks.COMMANDS} and all(s3 for s3, _ in recorded.values())
    assert any(c.status == 404 for c in recorded["transform"][0])  # the reads of what is not there yet
    assert recorded["transform"][1] and recorded["archive"][1]  # KPI writes; the run's ledger entry

    template = sam.load_template()
    role_of = {"trigger": (iam.function_statements(template, "TriggerFunction"), "TriggerFunction")}
    for command in tasks.COMMANDS:
        role_of[command] = (iam.task_role_statements(template, command), iam.task_definition_of(template, command))
    refused = _refused(recorded, template, res.settings, role_of)
    assert refused == [], "\n".join(refused)


def test_the_evaluator_refuses_the_s3_calls_a_role_lacks() -> None:
    """The check above can fail: a missing grant, a prefix outside the condition, a 404 without
    s3:ListBucket."""
    bucket = "data"
    statements = iam.s3_statements(
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${DataBucket.Arn}/incoming/*"}},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": {"Fn::GetAtt": ["DataBucket", "Arn"]},
                "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}},
            },
        ],
        bucket,
    )
    calls = [
        iam.Call("GetObject", "incoming/a.csv", None, 200),
        iam.Call("ListObjectsV2", None, "incoming/", 200),
        iam.Call("GetObject", "incoming/gone.csv", None, 404),
        iam.Call("PutObject", "incoming/b.csv", None, 200),
        iam.Call("ListObjectsV2", None, "curated/", 200),
    ]
    assert iam.refusals(calls, statements, bucket) == [
        "GetObject incoming/gone.csv (missing): 403 on AWS, not 404 (no s3:ListBucket)",
        "PutObject incoming/b.csv: s3:PutObject not allowed",
        "ListObjectsV2 prefix='curated/': s3:ListBucket not allowed",
    ]


def test_every_call_of_the_events_consumer_the_landing_and_the_sales_split_is_allowed(events_world) -> None:
    from events import landing, split
    from tests.support.events import produced_purchases

    w = events_world
    purchases = produced_purchases(3)
    large = {"purchase_id": "big", "customer_id": 7, "items": [{"product_id": 1, "quantity": 4, "price": "250"}]}
    restock = {"product_id": "p", "restocked_quantity": 30, "warehouse_id": "a", "stock_threshold": 20}
    move = {"event_id": "t1", "product_id": "p", "quantity": 15, "from_warehouse_id": "a", "to_warehouse_id": "b"}
    sales = {"contact-info": {"name": "A", "email": "a@b.co"}, "order-info": {"OrderId": "1", "qty": "1"}}
    w.send(*purchases, large, restock, {"customer_id": 1, "name": "Ann", "email": "x", "notes": "x" * 500_000})
    w.send({"customer_id": "not a customer"}, {"order-info": {"OrderId": "2"}}, sales)
    envelope = {"source_file": "incoming/s.json", "source_run": "sales-run-1"}  # as the sales workflow sends them
    w.send({"sales_record": sales, "source_index": 0, **envelope}, {"sales_record": {}, "source_index": 1, **envelope})
    recorded: Recorded = {}
    outbox = w.consumer.outbox
    with (
        Recording(recorded, "consumer", w.consumer.store.bucket.s3, w.consumer.store.db),
        iam.Recorder(outbox.sns) as published,
        iam.Recorder(outbox.sqs) as sent,
    ):
        w.consume()
        w.send(move)  # the low-stock alert, once the restock is in
        w.consume()
        w.send(move | {"event_id": "t2"})  # its alert again: the outbox finds the first
        w.consume()
    with Recording(recorded, "landing", w.bucket.s3, w.dynamodb):
        assert landing.land(w.settings, w.dynamodb, w.bucket).purchases == len(purchases) + 1
    w.bucket.put_bytes("incoming/sales.json", json.dumps([sales, {"order-info": {"OrderId": "3"}}]).encode())
    with Recording(recorded, "sales-split", w.bucket.s3, w.dynamodb):
        split.split(w.bucket, "incoming/sales.json")
    assert all(s3 for s3, _ in recorded.values()) and recorded["consumer"][1] and recorded["landing"][1]

    template = sam.load_template()
    role_of = {
        "consumer": (iam.function_statements(template, "EventsConsumerFunction"), "EventsConsumerFunction"),
        "landing": (iam.function_statements(template, "EventsLandingFunction"), "EventsLandingFunction"),
        "sales-split": (
            iam.task_role_statements(template, "sales-split", "SalesStateMachine"),
            iam.task_definition_of(template, "sales-split", "SalesStateMachine"),
        ),
    }
    refused = _refused(recorded, template, w.settings, role_of)
    messages = [c for c in published.calls + sent.calls if c.operation in ("Publish", "SendMessage")]
    assert {c.operation for c in messages} == {"Publish", "SendMessage"}  # alerts; the incomplete sales record
    consumer_env = iam.environment_of(template, "EventsConsumerFunction")
    found = iam.messaging_refusals(messages, role_of["consumer"][0], template, consumer_env, w.settings)
    refused += [f"consumer: {f}" for f in found]
    assert refused == [], "\n".join(refused)


def test_every_call_of_the_events_summary_is_allowed(events_world) -> None:
    """The summary Lambda: its listing of the tallies, its look for the interval's alert record (a
    404 needs s3:ListBucket), the record, the publish and the DLQs' depth."""
    from datetime import UTC, datetime

    from events import summary
    from events.outbox import Outbox

    w = events_world
    w.send({"customer_id": 1, "name": "Ann", "email": "a@b.co"}, {"customer_id": "not one"})
    w.consume()
    recorded: Recorded = {}
    outbox = Outbox(w.bucket, w.consumer.outbox.sns, w.consumer.outbox.topic_arn)
    with (
        Recording(recorded, "summary", w.bucket.s3, w.dynamodb),
        iam.Recorder(outbox.sns) as published,
        iam.Recorder(w.sqs) as asked,
    ):
        said = summary.summarise(w.settings, w.bucket, w.sqs, outbox, datetime.now(UTC))
    assert said["published"] and recorded["summary"][0]
    template = sam.load_template()
    statements = iam.function_statements(template, "EventsSummaryFunction")
    refused = _refused(recorded, template, w.settings, {"summary": (statements, "EventsSummaryFunction")})
    # (GetQueueUrl: the tests name the queues; on AWS the environment gives their URLs)
    calls = [c for c in published.calls + asked.calls if c.operation in ("Publish", "GetQueueAttributes")]
    assert {c.operation for c in calls} == {"Publish", "GetQueueAttributes"}
    environment = iam.environment_of(template, "EventsSummaryFunction")
    refused += iam.messaging_refusals(calls, statements, template, environment, w.settings)
    assert refused == [], "\n".join(refused)


def test_the_evaluator_refuses_tables_topics_and_queues_a_role_or_environment_lacks() -> None:
    from ecompipe.core.settings import Settings

    template = {
        "Resources": {
            "Runs": {"Type": "AWS::DynamoDB::Table"},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Dlq": {"Type": "AWS::SQS::Queue"},
        }
    }
    statements = [
        {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": {"Fn::GetAtt": ["Runs", "Arn"]}},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Dlq", "Arn"]}},
    ]
    settings = Settings(runs_table="runs-local", alerts_topic="alerts-local", sales_dlq="dlq-local")
    environment = {"ECOMPIPE_RUNS_TABLE": "Runs", "ECOMPIPE_ALERTS_TOPIC": "Topic"}
    tables = [iam.Call("UpdateItem", "runs-local", None, 200), iam.Call("GetItem", "runs-local", None, 200)]
    tables.append(iam.Call("GetItem", "KpisElsewhere", None, 200))
    assert iam.table_refusals(tables, iam.dynamodb_statements(statements, template), environment, settings) == [
        "GetItem Runs: not allowed",
        "GetItem KpisElsewhere: the component's environment names no such table",
    ]
    messages = [
        iam.Call("Publish", "arn:aws:sns:us-east-1:123456789012:alerts-local", None, 200),
        iam.Call("SendMessage", "https://sqs.us-east-1.amazonaws.com/123456789012/dlq-local", None, 200),
    ]
    assert iam.messaging_refusals(messages, statements, template, environment, settings) == [
        "Publish Topic: not allowed",
        "SendMessage dlq-local: the component's environment names no such topic or queue",
    ]


def test_every_call_the_state_machine_makes_itself_is_allowed_by_its_role(resources) -> None:
    """The ItemReaders and child executions of the Distributed Maps, the ECS tasks (and the roles
    they are passed), the lease release, the ledger, the notifications (and their topic's key) and
    the trigger invocation, for the input the trigger really gives an execution."""
    from datetime import UTC, datetime

    from ecompipe.aws.claims import Claim
    from ecompipe.aws.manifests import Manifest
    from ecompipe.aws.objects import ObjectInfo
    from trigger.sweep import execution_input

    manifest = Manifest.for_files(
        [ObjectInfo("incoming/orders_a.csv", 10, "e1"), ObjectInfo("incoming/b.csv", 9, "e2")]
    )
    now = datetime.now(UTC)
    claim = Claim(manifest.batch_id, manifest.batch_id, "trigger:test", ("incoming/orders_a.csv",), now, "etag")
    given = execution_input(resources.settings, manifest, claim, manifest.batch_id)
    given["lease"] = {"Item": {"lease_etag": {"S": "lease-etag"}}}  # what ReadLeaseAfterFailure reads
    template = sam.load_template()
    assert iam.state_machine_refusals(template, "PipelineStateMachine", given) == []
    for policy in template["Resources"]["StateMachineRole"]["Properties"]["Policies"]:  # the check can fail
        statements = policy["PolicyDocument"]["Statement"]
        gone = ("s3:GetObject", "iam:PassRole", "states:StartExecution")
        statements[:] = [st for st in statements if not any(a in str(st["Action"]) for a in gone)]
    refused = iam.state_machine_refusals(template, "PipelineStateMachine", given)
    maps = [r.split(": ")[0] for r in refused if "s3:GetObject" in r or "states:StartExecution" in r]
    assert sorted(maps) == sorted(["ParseFiles", "ValidateShards", "TransformDates"] * 2)
    ecs_states = {
        "WholeBatch",
        "ParseFile",
        "ValidateShard",
        "Validate",
        "PlanTransform",
        "TransformGroup",
        "Transform",
    }
    ecs_states |= {"Archive", "ArchiveRejected"}
    assert {r.split(": ")[0] for r in refused if "iam:PassRole" in r} == ecs_states  # their task and execution roles


@pytest.mark.parametrize("machine", ["PipelineStateMachine", "SalesStateMachine"])
def test_each_distributed_map_may_watch_and_stop_its_child_executions(machine: str) -> None:
    """A Distributed Map's children are executions named <machine>/<label>:<id> (as moto's engine
    names them too); `execution:<machine>:*` does not match them, so that grant is refused."""
    template = sam.load_template()
    assert iam.map_run_refusals(template, machine) == []
    role = template["Resources"][machine]["Properties"]["Role"]["Fn::GetAtt"][0]
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "states:DescribeExecution" in statement["Action"]:
                statement["Resource"]["Fn::Sub"] = statement["Resource"]["Fn::Sub"].replace("/*", ":*")
    refused = iam.map_run_refusals(template, machine)
    assert refused and all("DescribeExecution" in r or "StopExecution" in r for r in refused)


def test_every_call_the_sales_state_machine_makes_itself_is_allowed_by_its_role(resources) -> None:
    """The sales workflow's own S3 reads and writes (keys built in the definition with
    States.Format / States.Hash), its SQS sends, its split task and its Distributed Map, for a sales
    file and the outcome its split writes; the keys the definition builds are the ones the code
    writes, and a role without the rejection's PutObject is refused."""
    from ecompipe.core import layout

    key = layout.incoming_key("sales_2025-06-01.json")
    seen = {
        "bucket": resources.settings.bucket,
        "key": key,
        "outcome": {"doc": {"records_key": event_layout.sales_records_key(key)}},
    }
    template = sam.load_template()
    assert iam.state_machine_refusals(template, "SalesStateMachine", seen) == []
    states = json.loads((iam.ROOT / "statemachine" / "sales.asl.json").read_text())["States"]
    assert iam.evaluate(states["ReadOutcome"]["Parameters"]["Key.$"], seen) == event_layout.sales_outcome_key(key)
    for policy in template["Resources"]["SalesStateMachineRole"]["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        statements[:] = [st for st in statements if st["Action"] != "s3:PutObject"]
    refused = iam.state_machine_refusals(template, "SalesStateMachine", seen)
    assert refused == [
        f"RecordRejection: s3:PutObject on arn:aws:s3:::{seen['bucket']}/rejected/sales/{key}.reason.json not allowed"
    ]
