"""The pipeline's AWS resources on the emulator, so local runs execute the real state machine.

What SAM creates on AWS (infra/template.yaml) is created here by hand on moto: ECS cluster and task
definitions, a VPC for awsvpc networking, the SNS topic and the state machine, rendered from the
same ASL file. Two emulator settings make moto run it (DESIGN §6): execution of state machines
on, and ECS tasks held RUNNING until the local task runner stops them.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.core import statemachine, taskenv
from ecompipe.core.errors import EcompipeError
from ecompipe.core.settings import Settings

NAME = "ecompipe"
FAKE_ACCOUNT_ROLE = "arn:aws:iam::123456789012:role/ecompipe-local"
# locally nothing listens for the post-run sweep: the invoke fails and the state machine goes on
LOCAL_TRIGGER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ecompipe-trigger-local"


@dataclass(frozen=True)
class LocalStack:
    cluster_arn: str
    validator_task_definition: str
    transformer_task_definition: str
    subnet_ids: list[str]
    security_group: str
    topic_arn: str
    state_machine_arn: str
    sales_task_definition: str = ""


def configure_emulator(endpoint_url: str) -> None:
    """Turn on state machine execution and manual ECS task progression on a moto server."""
    _post(endpoint_url, "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
    _post(
        endpoint_url,
        "/moto-api/state-manager/set-transition",
        {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}},
    )


def reset_emulator(endpoint_url: str) -> None:
    """Drop every resource a moto server holds (its state lives as long as its process)."""
    _post(endpoint_url, "/moto-api/reset", {})


def _post(endpoint_url: str, path: str, body: dict) -> None:
    req = urllib.request.Request(
        endpoint_url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _fresh_state_machine(sfn: Any, definition: str, prefix: str = NAME) -> str:
    """A state machine no execution has used yet, for this run alone.

    moto deep-copies a state machine with its past executions (which hold locks) on every
    StartExecution, so one can run only once; and deleting one kills whatever runs on it. So each
    run gets its own (``ecompipe-<id>``), and a deploy removes only machines whose executions have
    all ended, or that nobody started within an hour, never one with a running execution.
    """
    now = datetime.now(UTC)
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] != NAME and not machine["name"].startswith(f"{NAME}-"):
            continue
        executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        if any(e["status"] == "RUNNING" for e in executions):
            continue
        unused_for = now - machine["creationDate"]
        if executions or unused_for > timedelta(hours=1):
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    return sfn.create_state_machine(name=name, definition=definition, roleArn=FAKE_ACCOUNT_ROLE)["stateMachineArn"]


def _network(ec2: Any, wait_seconds: float = 30) -> tuple[str, str]:
    """The subnet and security group of the stack's VPC, created by the first deploy. A deploy that
    finds the VPC of another deploy still being built waits for its subnet and group instead of
    failing (two `ecompipe run` may deploy at the same moment)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
        if not vpcs:
            vpc_id = ec2.create_vpc(
                CidrBlock="10.42.0.0/16",
                TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": NAME}]}],
            )["Vpc"]["VpcId"]
            ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
            subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
            group = ec2.create_security_group(GroupName=NAME, Description="ecompipe tasks", VpcId=vpc_id)["GroupId"]
            return subnet, group
        for vpc in vpcs:
            in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
            subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
            groups = ec2.describe_security_groups(Filters=[*in_vpc, {"Name": "group-name", "Values": [NAME]}])
            if subnets and groups["SecurityGroups"]:
                return subnets[0]["SubnetId"], groups["SecurityGroups"][0]["GroupId"]
        if time.monotonic() > deadline:
            raise EcompipeError(f"the local stack's VPC has no subnet or security group after {wait_seconds:.0f} s")
        time.sleep(0.1)


def deploy(settings: Settings, pipeline: bool = True) -> LocalStack:
    """Create (or find) the local stack; idempotent, and safe beside running executions, so
    several runs can share one emulator at once. Without `pipeline`, only what the sales workflow
    needs (network, cluster, task definitions): no batch state machine is made."""
    ec2 = aws.client("ec2", settings)
    ecs = aws.client("ecs", settings)
    sns = aws.client("sns", settings)
    sfn = aws.client("stepfunctions", settings)

    subnet, group = _network(ec2)
    cluster_arn = ecs.create_cluster(clusterName=NAME)["cluster"]["clusterArn"]
    definitions = {}
    for role in ("validator", "transformer", "batch", "sales"):
        definitions[role] = ecs.register_task_definition(
            family=f"{NAME}-{role}",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="1024",
            memory="4096",
            containerDefinitions=[
                {
                    "name": taskenv.CONTAINER_NAME,
                    "image": "ecompipe:local",
                    "memory": 4096,
                    "essential": True,
                    "command": ["task", "validate"],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
    topic_arn = sns.create_topic(Name=f"{NAME}-notifications")["TopicArn"]
    definition = statemachine.render(
        statemachine.definition_text(),
        {
            "ClusterArn": cluster_arn,
            "ValidatorTaskDefinitionArn": definitions["validator"],
            "TransformerTaskDefinitionArn": definitions["transformer"],
            "BatchTaskDefinitionArn": definitions["batch"],
            "SubnetIds": subnet,
            "SecurityGroupId": group,
            "RunsTable": settings.runs_table,
            "TopicArn": topic_arn,
            "TriggerFunctionArn": LOCAL_TRIGGER_ARN,
        },
    )
    arn = _fresh_state_machine(sfn, definition) if pipeline else ""
    return LocalStack(
        cluster_arn,
        definitions["validator"],
        definitions["transformer"],
        [subnet],
        group,
        topic_arn,
        arn,
        definitions["sales"],
    )


LOCAL_JUDGE_WAIT_SECONDS = 1  # how often a local sales workflow looks at its records' judgement (AWS: 10)


def deploy_sales(settings: Settings, stack: LocalStack, queue_url: str, sales_dlq_url: str) -> str:
    """A sales-file state machine (statemachine/sales.asl.json) of its own on the emulator, over the
    local stack's cluster and network (its split task runs there); its ARN."""
    definition = statemachine.render(
        statemachine.definition_text(statemachine.SALES),
        {
            "EventsQueueUrl": queue_url,
            "SalesDeadLetterQueueUrl": sales_dlq_url,
            "InlineMaxBytes": str(settings.sales_inline_max_bytes),
            "ClusterArn": stack.cluster_arn,
            "SalesTaskDefinitionArn": stack.sales_task_definition,
            "SubnetIds": ",".join(stack.subnet_ids),
            "SecurityGroupId": stack.security_group,
            "SalesRunsTable": settings.sales_runs_table,
            "JudgeWaitSeconds": str(LOCAL_JUDGE_WAIT_SECONDS),
            "JudgeMaxPolls": str(settings.sales_judge_minutes * 60 // LOCAL_JUDGE_WAIT_SECONDS),
        },
    )
    return _fresh_state_machine(aws.client("stepfunctions", settings), definition, prefix=f"{NAME}-sales")
