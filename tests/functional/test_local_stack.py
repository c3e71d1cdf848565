"""Issue 13, class 7 on in-process moto: deploying the local stack is safe beside other deploys and
running executions."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from ecompipe.core.settings import Settings
from ecompipe.local.stack import NAME, deploy
from tests.conftest import MOTO_CONFIG

pytestmark = pytest.mark.functional


def test_a_deploy_waits_for_the_network_another_deploy_is_building(aws_env: None) -> None:
    with mock_aws(config=MOTO_CONFIG):
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(
            CidrBlock="10.42.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": NAME}]}],
        )["Vpc"]["VpcId"]

        def finish_the_other_deploy() -> None:
            time.sleep(0.3)
            ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")
            ec2.create_security_group(GroupName=NAME, Description="x", VpcId=vpc)

        other = threading.Thread(target=finish_the_other_deploy)
        other.start()
        stack = deploy(Settings(bucket="ecompipe-test"))
        other.join()
        [subnet] = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        assert stack.subnet_ids == [subnet["SubnetId"]]


def test_concurrent_deploys_all_succeed_and_spare_running_executions(aws_env: None) -> None:
    with mock_aws(config=MOTO_CONFIG):
        settings = Settings(bucket="ecompipe-test")
        first = deploy(settings)
        sfn = boto3.client("stepfunctions")
        running = sfn.start_execution(stateMachineArn=first.state_machine_arn, input=json.dumps({}))["executionArn"]
        stacks, errors = [], []

        def go() -> None:
            try:
                stacks.append(deploy(settings))
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len({s.state_machine_arn for s in [first, *stacks]}) == 5  # each run its own machine
        assert sfn.describe_execution(executionArn=running)["status"] == "RUNNING"
        assert first.state_machine_arn in {m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}


def test_an_emulator_for_a_run_builds_the_backends_the_run_calls_before_it_calls_them(aws_env: None) -> None:
    """`ecompipe run`'s emulator builds moto's backends for the stack deploy and the state machine
    while the command is still importing (ecompipe.local.emulator.warm_backends)."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from ecompipe.local.emulator import warm_backends

    backends = get_backend("sns")[DEFAULT_ACCOUNT_ID]
    dict.pop(backends, "us-east-1", None)  # as in a fresh emulator: not built yet
    warm_backends(("sns",))
    assert dict.__contains__(backends, "us-east-1")  # built, not merely a region moto knows
