"""infra/template.yaml: linted, scanned, transformed offline and deployed into moto."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from ecompipe.core import cells, layout, statemachine
from ecompipe.core.settings import Settings
from events.kinds import ENTITIES
from events.resources import table_definitions as event_tables
from tests.conftest import MOTO_CONFIG, ROOT
from tests.support import sam
from tests.support.iam import listed
from tests.support.tools import tool

pytestmark = pytest.mark.functional
TEMPLATE = ROOT / "infra" / "template.yaml"
# actions that take no resource-level permission: "*" is the only resource they accept
RESOURCE_STAR_ALLOWED = {
    "ecr:GetAuthorizationToken",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # installed with the test extra
    proc = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checkov_passes_and_every_skip_is_justified() -> None:
    exe = tool("checkov")
    proc = subprocess.run(
        [str(exe), "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        timeout=600,
    )
    report = json.loads(proc.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 50
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 30, skipped["check_id"]


def test_no_account_ids_and_no_wildcard_grants() -> None:
    text = TEMPLATE.read_text()
    assert not re.search(r"\b\d{12}\b", text), "an account id is written in the template"
    template = sam.load_template()
    statements = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            doc = policy.get("PolicyDocument", policy)
            statements += doc.get("Statement", []) if isinstance(doc, dict) else []
    assert len(statements) > 20
    for st in statements:
        if st["Effect"] != "Allow":
            continue
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert not any("*" in a for a in actions), actions
        if st["Resource"] == "*":
            assert set(actions) <= RESOURCE_STAR_ALLOWED, actions


@pytest.mark.parametrize(
    ("resource", "name", "names"),
    [
        ("PipelineStateMachine", statemachine.PIPELINE, statemachine.SUBSTITUTIONS),
        ("SalesStateMachine", statemachine.SALES, statemachine.SALES_SUBSTITUTIONS),
    ],
)
def test_state_machine_substitutions_match_the_definition(resource: str, name: str, names: tuple) -> None:
    props = sam.load_template()["Resources"][resource]["Properties"]
    assert props["DefinitionUri"] == f"../statemachine/{name}.asl.json"
    assert set(props["DefinitionSubstitutions"]) == set(names)
    assert statemachine.placeholders(statemachine.definition_text(name)) == set(names)


def test_transformed_template_deploys_into_moto(aws_env) -> None:
    from moto import mock_aws

    cfn = sam.transform(sam.packaged(sam.load_template()))
    types = {r["Type"] for r in cfn["Resources"].values()}
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    assert {"AWS::StepFunctions::StateMachine", "AWS::Lambda::Function", "AWS::Events::Rule"} <= types
    with mock_aws(config=MOTO_CONFIG):
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="ecompipe-artifacts")
        s3.put_object(Bucket="ecompipe-artifacts", Key="trigger.zip", Body=b"PK\x05\x06" + b"\0" * 18)
        cf = boto3.client("cloudformation")
        cf.create_stack(
            StackName="ecompipe",
            TemplateBody=json.dumps(cfn),
            Parameters=[
                {"ParameterKey": "SubnetIds", "ParameterValue": subnet},
                {"ParameterKey": "SecurityGroupId", "ParameterValue": group},
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cf.describe_stacks(StackName="ecompipe")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["TriggerFunctionName"] == "ecompipe-trigger"
        tables = set(boto3.client("dynamodb").list_tables()["TableNames"])
        assert len(tables) == 3 + len(event_tables(Settings()))  # KPIs, runs; the events workload's
        queues = boto3.client("sqs").list_queues()["QueueUrls"]
        assert {outputs["EventsQueueUrl"], outputs["EventsDeadLetterQueueUrl"]} <= set(queues)
        redrive = boto3.client("sqs").get_queue_attributes(
            QueueUrl=outputs["EventsQueueUrl"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]["RedrivePolicy"]
        assert json.loads(redrive)["maxReceiveCount"] == 5
        mappings = boto3.client("lambda").list_event_source_mappings(FunctionName=outputs["EventsFunctionName"])
        assert [m["BatchSize"] for m in mappings["EventSourceMappings"]] == [10]
        machines = boto3.client("stepfunctions").list_state_machines()["stateMachines"]
        assert {m["stateMachineArn"] for m in machines} == {outputs["StateMachineArn"], outputs["SalesStateMachineArn"]}
        assert boto3.client("ecs").list_task_definitions()["taskDefinitionArns"]

        # Glue and Athena: moto's CloudFormation skips them; created from the same properties
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cf.describe_stack_resources(StackName="ecompipe")["StackResources"]
            if "LogicalResourceId" in r and "PhysicalResourceId" in r  # the skipped ones are listed without
        }
        glue, athena = boto3.client("glue"), boto3.client("athena")
        made = sam.create_skipped(cfn, "ecompipe", physical, {"glue": glue, "athena": athena})
        tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=made["QuestionsDatabase"])["TableList"]}
        assert set(tables) == {f"curated_{name}" for name in ("orders", "order_items", "products")}
        bucket = outputs["BucketName"]
        assert tables["curated_orders"]["StorageDescriptor"]["Location"] == f"s3://{bucket}/curated/orders/"
        assert tables["curated_orders"]["PartitionKeys"] == [
            {"Name": "order_date", "Type": "string"},
            {"Name": "bucket", "Type": "int"},
        ]
        parameters = tables["curated_order_items"]["Parameters"]
        template = parameters["storage.location.template"]
        assert template == f"s3://{bucket}/curated/order_items/order_date=${{order_date}}/bucket=${{bucket}}/"
        # the cells' layout: every part's key is under the projected location of its date and bucket
        part = layout.cell_part_key("order_items", "2025-06-01", cells.MAX_BUCKETS - 1, "p1")
        projected = template.replace("${order_date}", "2025-06-01").replace("${bucket}", str(cells.MAX_BUCKETS - 1))
        assert f"s3://{bucket}/{part}".startswith(projected)
        assert parameters["projection.bucket.range"] == f"0,{cells.MAX_BUCKETS - 1}"
        group = athena.get_work_group(WorkGroup=made["AthenaWorkgroup"])["WorkGroup"]["Configuration"]
        assert group["EnforceWorkGroupConfiguration"] and group["BytesScannedCutoffPerQuery"] == 10 * 1024**3


def test_the_events_consumer_is_mapped_as_the_issue_asks() -> None:
    """The transformed template's event source mapping: partial batch responses, batching window,
    bounded concurrency; and the consumer's grants are exactly its tables, prefixes and topic."""
    cfn = sam.transform(sam.packaged(sam.load_template()))
    mapping = next(r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10 and mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
    function = sam.load_template()["Resources"]["EventsConsumerFunction"]["Properties"]
    assert function["Handler"] == "events.handler.handler"
    env = function["Environment"]["Variables"]
    for entity in ENTITIES:  # every table the consumer writes is named to it, none left at its local default
        assert f"ECOMPIPE_{entity.table_setting.upper()}" in env
    alarms = {
        r["Properties"].get("MetricName") for r in cfn["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "Errors"} <= alarms


def test_the_landing_runs_on_a_schedule_with_exactly_the_grants_it_needs() -> None:
    """The landing Lambda (events.landing.handler): scheduled, the purchases table named to it, and
    its grants the markers' prefix (event_layout.LANDING), incoming/ and the purchases table; the consumer
    may write the markers."""
    from ecompipe.core import event_layout, layout

    resources = sam.load_template()["Resources"]
    function = resources["EventsLandingFunction"]["Properties"]
    assert function["Handler"] == "events.landing.handler"
    assert "ECOMPIPE_PURCHASES_TABLE" in function["Environment"]["Variables"]
    assert [e["Type"] for e in function["Events"].values()] == ["Schedule"]
    grants = json.dumps(function["Policies"])
    assert f"/{event_layout.LANDING}*" in grants and f"/{layout.INCOMING}*" in grants
    assert "dynamodb:BatchGetItem" in grants and "PutItem" not in grants
    consumer = json.dumps(resources["EventsConsumerFunction"]["Properties"]["Policies"])
    assert f"/{event_layout.LANDING}*" in consumer


def test_every_alarm_notifies_a_topic_cloudwatch_may_publish_to_and_every_publisher_may_use_its_key() -> None:
    """CloudWatch alarms publish to an encrypted topic only if the key's policy lets
    cloudwatch.amazonaws.com use it (an AWS managed key's policy cannot be changed); a role that
    publishes to an encrypted topic needs the key too. Neither shows on moto."""
    resources = sam.load_template()["Resources"]

    def key_of(topic: str) -> str | None:
        key = resources[topic]["Properties"].get("KmsMasterKeyId")
        assert key is None or isinstance(key, dict), f"{topic} is encrypted with {key}, a key this stack cannot grant"
        return None if key is None else key["Ref"]

    notified = {
        a["Ref"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"
        for a in r["Properties"].get("AlarmActions", []) + r["Properties"].get("OKActions", [])
    }  # fmt: skip
    assert notified
    for topic in notified:
        key = key_of(topic)
        if key is None:
            continue
        grants = [
            st for st in resources[key]["Properties"]["KeyPolicy"]["Statement"]
            if st["Effect"] == "Allow" and st.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
        ]  # fmt: skip
        actions = {a for st in grants for a in st["Action"]}
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions, (topic, key)

    publishers = 0
    for name, resource in resources.items():
        policies = [p for p in resource.get("Properties", {}).get("Policies", []) if isinstance(p, dict)]
        statements = [st for p in policies for st in p.get("PolicyDocument", p).get("Statement", [])]
        for st in statements:
            topic = st["Resource"].get("Ref") if isinstance(st["Resource"], dict) else None
            if "sns:Publish" not in listed(st["Action"]) or topic is None or key_of(topic) is None:
                continue
            publishers += 1
            key_arn = {"Fn::GetAtt": [key_of(topic), "Arn"]}
            may_use = {a for s in statements if key_arn in listed(s["Resource"]) for a in listed(s["Action"])}
            assert {"kms:Decrypt", "kms:GenerateDataKey"} <= may_use, (name, topic)
    assert publishers >= 2  # the state machine's notifications, the consumer's alerts


def test_every_state_machine_raises_an_alarm_when_an_execution_fails_or_times_out() -> None:
    """A failed batch run and a rejected or failed sales file alike reach the notifications topic."""
    resources = sam.load_template()["Resources"]
    machines = {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::StateMachine"}
    watched = {
        (r["Properties"]["MetricName"], r["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/States"
    }
    assert machines and {(m, n) for n in machines for m in ("ExecutionsFailed", "ExecutionsTimedOut")} == watched
