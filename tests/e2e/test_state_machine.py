"""statemachine/pipeline.asl.json executed by moto's Step Functions engine, its ECS tasks run by
the local task runner: every branch ends with the lease gone and an SNS message naming the batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ecompipe.aws import clients as aws
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from ecompipe.local import stack as local_aws
from ecompipe.local.emulator import Emulator
from ecompipe.local.starter import run_via_state_machine
from tests.conftest import SAMPLE
from tests.support.helpers import put_files, read_dir

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    res: Resources
    stack: local_aws.LocalStack
    sqs: object
    queue_url: str

    def run(self, files: dict[str, bytes], **overrides):
        keys = put_files(self.res, files)
        return run_via_state_machine(
            self.res, self.stack, keys, owner="test", timeout_seconds=120, task_overrides=overrides
        )

    def messages(self) -> list[dict]:
        got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    def lease(self) -> bool:
        """Whether any lease is held: the commit lease or a date lease."""
        return self.res.bucket.exists(layout.LOCK_KEY) or bool(self.res.bucket.list(layout.DATE_LOCKS))


def _stack(task_timeout_seconds: int, one_task_max_mb: int) -> Iterator[Stack]:
    with Emulator() as url:
        settings = Settings(
            endpoint_url=url,
            bucket="ecompipe-sm",
            task_timeout_seconds=task_timeout_seconds,
            one_task_max_mb=one_task_max_mb,
        )
        res = Resources.from_settings(settings)
        res.init()
        stack = local_aws.deploy(settings)
        sqs = aws.client("sqs", settings)
        queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.client("sns", settings).subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield Stack(res, stack, sqs, queue_url)


# the two ways a batch that does not fan out runs: one task (a small batch: validate, transform and
# archive in one container), or three (ECOMPIPE_ONE_TASK_MAX_MB below its size); the stage a failure names
PATHS = {"one task": (16, "batch"), "three tasks": (0, "validate")}


@pytest.fixture(params=sorted(PATHS))
def sm(request: pytest.FixtureRequest) -> Iterator[Stack]:
    yield from _stack(task_timeout_seconds=600, one_task_max_mb=PATHS[request.param][0])


@pytest.fixture(params=sorted(PATHS))
def sm_short_timeout(request: pytest.FixtureRequest) -> Iterator[Stack]:
    yield from _stack(task_timeout_seconds=2, one_task_max_mb=PATHS[request.param][0])


def _first_task(stack: Stack) -> str:
    """The stage of the first task a batch runs: the one task, or validate."""
    return "batch" if stack.res.settings.one_task_max_mb else "validate"


def _event(message: dict) -> str:
    return message["MessageAttributes"]["event"]["Value"]


def _entered(stack: Stack, execution: dict) -> list[str]:
    """The states an execution entered, in order."""
    sfn = aws.client("stepfunctions", stack.res.settings)
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_happy_path_writes_the_kpis(sm: Stack) -> None:
    execution, result = sm.run(read_dir(SAMPLE))
    assert execution["status"] == "SUCCEEDED"
    tasks = [s for s in _entered(sm, execution) if s in ("WholeBatch", "Validate", "Transform", "Archive")]
    assert tasks == (["WholeBatch"] if _first_task(sm) == "batch" else ["Validate", "Transform", "Archive"])
    run = sm.res.ledger.get(result.batch_id)
    assert (run["status"], run["stage"], run["accepted"], run["transform_outcome"]) == (
        "SUCCEEDED",
        "archived",
        421,
        "done",
    )
    assert len(sm.res.kpis.order_kpis()) == 10 and sm.res.kpis.category_kpis()
    assert not sm.lease()
    [message] = sm.messages()
    body = json.loads(message["Message"])
    assert _event(message) == body["event"] == "success" and body["batch_id"] == result.batch_id
    assert len(body["files"]) == 11 and body["files"][0].startswith("incoming/")
    assert body["rows"] == {"read": 429, "accepted": 421, "rejected": 6, "pending": 2}
    assert body["dates_affected"] == [f"2025-06-{d:02d}" for d in range(1, 11)]
    assert 0 < body["duration_seconds"] < 120 and body["report_key"] == f"reports/{result.batch_id}/validation.json"
    assert sm.res.bucket.list("incoming/") == []  # archived by the Archive task


def test_a_batch_with_no_valid_row_takes_the_rejection_branch(sm: Stack) -> None:
    execution, result = sm.run({"orders_x.csv": b"order_id,user_id\n1,2\n", "notes.csv": b"x\n"})
    assert execution["status"] == "SUCCEEDED"
    assert sm.res.ledger.get(result.batch_id)["status"] == "REJECTED"
    assert sm.res.kpis.order_kpis() == []
    assert not sm.lease()
    [message] = sm.messages()
    body = json.loads(message["Message"])
    assert _event(message) == body["event"] == "rejection" and body["batch_id"] == result.batch_id
    assert body["report_key"] == f"reports/{result.batch_id}/validation.json"
    assert body["top_reasons"] == [
        {"reason": "missing_required_column", "count": 1},
        {"reason": "unrecognised_file_name", "count": 1},
    ]
    assert len(sm.res.bucket.list(f"rejected/{result.batch_id}/files/")) == 4


def test_a_task_that_records_no_outcome_fails_the_execution(sm: Stack) -> None:
    stage = _first_task(sm)
    execution, _ = sm.run(read_dir(SAMPLE), **{stage: lambda _name, _env: 0})  # exits 0, writes nothing
    assert execution["status"] == "FAILED"
    batch_id = execution["name"]
    run = sm.res.ledger.get(batch_id)
    assert run["status"] == "FAILED" and "NoOutcome" in run["error"]
    assert not sm.lease()
    [message] = sm.messages()
    body = json.loads(message["Message"])
    assert _event(message) == body["event"] == "failure" and body["batch_id"] == batch_id
    assert body["stage"] == stage and body["error"]["Error"] == "NoOutcome"
    assert body["execution"] == execution["executionArn"]
    assert run["failed_stage"] == stage
    assert sm.res.kpis.order_kpis() == []


def test_a_task_that_outlives_its_timeout_fails_the_execution(sm_short_timeout: Stack) -> None:
    stage = _first_task(sm_short_timeout)
    execution, _ = sm_short_timeout.run(read_dir(SAMPLE), **{stage: lambda _name, _env: None})  # never ends
    assert execution["status"] == "FAILED"
    run = sm_short_timeout.res.ledger.get(execution["name"])
    assert run["status"] == "FAILED" and "States.Timeout" in run["error"]
    assert not sm_short_timeout.lease()
    [message] = sm_short_timeout.messages()
    body = json.loads(message["Message"])
    assert _event(message) == "failure" and body["batch_id"] == execution["name"]
    assert body["stage"] == stage and body["error"]["Error"] == "States.Timeout"


def test_the_definition_has_no_literal_arns_and_uses_the_task_contract() -> None:
    from ecompipe.core import statemachine, taskenv

    text = statemachine.definition_text()
    assert "arn:aws:states:::" in text  # service integrations are not resources
    assert "arn:aws:" not in text.replace("arn:aws:states:::", "")
    assert statemachine.placeholders(text) == set(statemachine.SUBSTITUTIONS)
    doc = json.loads(text)
    children = {}  # the states of the Map's child executions
    for name, state in doc["States"].items():
        children.update(state.get("ItemProcessor", {}).get("States", {}))
        if state.get("Resource", "").startswith("arn:aws:states:::ecs:runTask"):
            [override] = state["Parameters"]["Overrides"]["ContainerOverrides"]
            assert override["Name"] == taskenv.CONTAINER_NAME
            assert tuple(e["Name"] for e in override["Environment"]) == taskenv.OVERRIDE_NAMES, name
            assert override["Command"][1] in taskenv.TASK_COMMANDS
        if state["Type"] == "Task":
            assert state.get("Catch"), f"{name} has no Catch"
    # each Map's child ends its child execution, and a failed one is redone by the state after the Map
    expected = {
        "ParseFile": (["task", "parse-file"], taskenv.PART_OVERRIDE_NAMES, "ParseFiles", "ByShards"),
        "ValidateShard": (["task", "validate-shard"], taskenv.SHARD_OVERRIDE_NAMES, "ValidateShards", "Validate"),
        "TransformGroup": (["task", "transform-group"], taskenv.GROUP_OVERRIDE_NAMES, "TransformDates", "Transform"),
    }
    assert set(children) == set(expected)
    for name, (command, names, map_state, after) in expected.items():
        [override] = children[name]["Parameters"]["Overrides"]["ContainerOverrides"]
        assert override["Command"] == command and children[name]["End"] is True
        assert tuple(e["Name"] for e in override["Environment"]) == names, name
        assert doc["States"][map_state]["Catch"][0]["Next"] == doc["States"][map_state]["Next"] == after
    assert doc["States"]["PlanTransform"]["Catch"][0]["Next"] == "Transform"
