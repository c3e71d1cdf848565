"""Fixes to the emulator (moto), applied where it runs in our process: the embedded emulator and
the in-process tests. Each changes how moto works, never what AWS does; none is loaded on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ecompipe.local import routing


def apply() -> None:
    """Every fix below (idempotent)."""
    patch_moto_ecs_integration()
    patch_moto_sqs_attributes()
    patch_moto_sqs_visible_messages()
    patch_moto_sdk_object_bodies()
    patch_moto_athena_rest_json()
    patch_moto_s3_conditional_writes()
    patch_moto_s3_prefix_listing()
    routing.apply()


def patch_moto_ecs_integration() -> None:
    """moto's Step Functions engine hands ecs:runTask its parameters in the ASL's PascalCase and
    expects the responses in it too, but converts neither for ECS. Normalise both from botocore's
    operation shapes, as the engine already does for other integrations (DESIGN §6).
    Also shortens the engine's .sync polling interval. Idempotent; an emulator fix only, never
    loaded on AWS."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs as ecs

    cls = ecs.StateTaskServiceEcs
    if getattr(cls, "_ecompipe_patched", False):
        return
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")

    def operation_model(self: Any, service_action_name: Any) -> Any:
        action = self._get_boto_service_action(service_action_name)
        return model.operation_model(next(n for n in model.operation_names if _snake(n) == action))

    def _normalise_parameters(
        self: Any, parameters: dict, boto_service_name: Any = None, service_action_name: Any = None
    ) -> None:
        self._to_boto_request(parameters, operation_model(self, service_action_name).input_shape)

    def _normalise_response(
        self: Any, response: Any, boto_service_name: Any = None, service_action_name: Any = None
    ) -> None:
        self._from_boto_response(response, operation_model(self, service_action_name).output_shape)

    cls._normalise_parameters = _normalise_parameters
    cls._normalise_response = _normalise_response
    cls._build_sync_resolver = _in_process_until_stopped(cls._build_sync_resolver)
    cls._ecompipe_patched = True
    # The engine re-checks a .sync task every 0.5 s; locally the check is one in-process look.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 0.05  # type: ignore[misc]


def _in_process_until_stopped(build: Any) -> Any:
    """The engine's .sync check of an ecs:runTask asks the emulator's own API (DescribeTasks over
    HTTP) each time: with the check every 0.05 s, a fanned-out run of 3M items with two workers
    spent ~30 of the emulator's 50 CPU s on it. Look at the task in moto's ECS backend instead, and
    ask the API once, when the task has stopped (its answer is the state's output, as before)."""
    from moto.ecs.models import ecs_backends

    def build_sync_resolver(self: Any, env: Any, resource_runtime_part: Any, **kwargs: Any) -> Any:
        task_arn = env.stack[-1]["Tasks"][0]["TaskArn"]
        resolve = build(self, env=env, resource_runtime_part=resource_runtime_part, **kwargs)
        backend = ecs_backends[resource_runtime_part.account][resource_runtime_part.region]

        def resolve_once_stopped() -> Any:
            task = next((t for tasks in list(backend.tasks.values()) if (t := tasks.get(task_arn))), None)
            return resolve() if task is None or task.last_status == "STOPPED" else None

        return resolve_once_stopped

    return build_sync_resolver


def _snake(name: str) -> str:
    out = ""
    for i, ch in enumerate(name):
        out += ("_" if i and ch.isupper() else "") + ch.lower()
    return out


def patch_moto_sqs_attributes() -> None:
    """moto builds every queue attribute, counting all its messages, whenever it reads one: on
    each SendMessage (for ContentBasedDeduplication) and for each message a ReceiveMessage returns
    (for MessageRetentionPeriod). That makes a queue of n messages cost O(n^2). Attributes are
    computed when asked for instead: the same values, and the counts only when read."""
    from moto.core.utils import camelcase_to_underscores
    from moto.sqs.models import Queue

    if getattr(Queue, "_ecompipe_patched", False):
        return

    class LazyAttributes(Mapping):
        def __init__(self, queue: Any) -> None:
            self.queue = queue
            names = list(queue.BASE_ATTRIBUTES)
            if queue.fifo_queue:
                names += queue.FIFO_ATTRIBUTES
            if queue.kms_master_key_id:
                names += queue.KMS_ATTRIBUTES
            if queue.policy:
                names.append("Policy")
            if queue.redrive_policy and "RedrivePolicy" not in names:
                names.append("RedrivePolicy")
            self.names = names

        def __getitem__(self, name: str) -> Any:
            if name not in self.names:
                raise KeyError(name)
            if name == "Policy":
                value = self.queue.policy
            elif name == "RedrivePolicy":
                value = json.dumps(self.queue.redrive_policy) if self.queue.redrive_policy else None
            else:
                value = getattr(self.queue, camelcase_to_underscores(name))
            return str(value).lower() if isinstance(value, bool) else value

        def __iter__(self) -> Iterator[str]:
            return iter(self.names)

        def __len__(self) -> int:
            return len(self.names)

    Queue.attributes = property(lambda self: LazyAttributes(self))  # type: ignore[assignment]
    Queue._ecompipe_patched = True  # type: ignore[attr-defined]


def patch_moto_sqs_visible_messages() -> None:
    """moto's ReceiveMessage lists every visible message of the queue before taking the first ten,
    and DeleteMessage scans every message for the receipt handle: draining a queue of n messages
    costs O(n^2) (a 10,000-record sales file took 224 s to consume, most of it here). Visible
    messages are now yielded lazily in the same order, and a deletion looks among the received
    (in-flight) messages first, where the handle is; anything else takes moto's own path."""
    from moto.sqs.models import Queue

    if getattr(Queue, "_ecompipe_visible_patched", False):
        return

    class Visible:
        """The queue's visible, undelayed messages, in order, computed as they are read."""

        def __init__(self, queue: Any) -> None:
            self.messages = list(queue._messages)

        def __iter__(self) -> Iterator[Any]:
            return (m for m in self.messages if m.visible and not m.delayed)

        def __bool__(self) -> bool:
            return next(iter(self), None) is not None

        def __len__(self) -> int:
            return sum(1 for _ in self)

    original_delete = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = next((m for m in self.pending_messages if m.had_receipt_handle(receipt_handle)), None)
        if message is None:
            original_delete(self, receipt_handle)
            return
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages.remove(message)  # by identity: Message defines no __eq__

    Queue.messages = property(lambda self: Visible(self))  # type: ignore[assignment]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    Queue._ecompipe_visible_patched = True  # type: ignore[attr-defined]


def patch_moto_sdk_object_bodies() -> None:
    """moto's aws-sdk:s3:getObject integration hands the state machine botocore's stream where
    Step Functions gives the object's text (Body as a string): the next state, reading $.Body,
    fails. The stream is read into text, as on AWS."""
    from botocore.response import StreamingBody
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
    )

    cls = sdk.StateTaskServiceAwsSdk
    if getattr(cls, "_ecompipe_patched", False):
        return
    original = cls._eval_service_task

    def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        response = env.stack[-1]
        if isinstance(response, dict) and isinstance(response.get("Body"), StreamingBody):
            response["Body"] = response["Body"].read().decode("utf-8", "replace")

    cls._eval_service_task = _eval_service_task
    cls._ecompipe_patched = True


def patch_moto_athena_rest_json() -> None:
    """botocore describes Athena with the json protocol (`POST /` naming the operation in
    `X-Amz-Target`) up to 1.44.8 and with rest-json (`POST /workgroups`,
    `GET /query-executions/{id}`, ...) from 1.44.18 on, while moto 5.2 routes only `POST /` and
    finds the operation from the installed botocore's form alone: either form failed with 404 "Not
    yet implemented" in some pairing. Every Athena path now reaches moto's responses, which read a
    parameter from the body, the query or the path alike, and the operation is taken from
    `X-Amz-Target` where the request names it: both forms are served, whichever botocore is
    installed (tests/functional/test_emulator_athena.py)."""
    from moto.athena import urls
    from moto.athena.responses import AthenaResponse

    if getattr(AthenaResponse, "_ecompipe_patched", False):
        return
    urls.url_paths.setdefault("{0}/.+$", AthenaResponse.dispatch)
    from_router = AthenaResponse._get_action

    def _get_action(self: Any) -> str:
        target = self.headers.get("X-Amz-Target")
        return target.rpartition(".")[2] if target else from_router(self)

    AthenaResponse._get_action = _get_action  # type: ignore[method-assign]
    AthenaResponse._ecompipe_patched = True  # type: ignore[attr-defined]


def patch_moto_s3_conditional_writes() -> None:
    """moto checks a conditional PutObject or DeleteObject (If-Match, If-None-Match) and then
    writes, in two steps: two requests in threads of its server (or of one process) may both pass
    the check, so two contenders could take one expired lease (seen here: 2 winners of 10, more
    often in a versioned bucket). S3 makes the check and the write one step; so does this, by
    running conditional writes one at a time (plain writes are untouched)."""
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response, "_ecompipe_conditional_patched", False):
        return
    one_at_a_time = threading.Lock()

    def conditional(method: Any) -> Any:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.headers.get("If-Match") or self.headers.get("If-None-Match"):
                with one_at_a_time:
                    return method(self, *args, **kwargs)
            return method(self, *args, **kwargs)

        return run

    S3Response.put_object = conditional(S3Response.put_object)  # type: ignore[method-assign]
    S3Response.delete_object = conditional(S3Response.delete_object)  # type: ignore[method-assign]
    S3Response._ecompipe_conditional_patched = True  # type: ignore[attr-defined]


def patch_moto_s3_prefix_listing() -> None:
    """moto answers a LIST with a prefix by walking every key the bucket ever held (in a versioned
    bucket deleted keys stay, each looked up in Python), so a LIST's cost grows with the bucket's
    history: ~35 ms each after 100 batches, a batch makes several. S3 answers from its index by
    prefix. This hands moto only the names under the prefix (one pass over the names in C); what
    it does with them is moto's own code."""
    from moto.s3.models import FakeTableStorageBucket, S3Backend

    if getattr(S3Backend, "_ecompipe_listing_patched", False):
        return
    original = S3Backend.list_objects

    class _Under:
        """The bucket's keys under one prefix: what moto's listing iterates."""

        def __init__(self, store: Any, prefix: str) -> None:
            self.store = store
            self.names = [n for n in list(dict.keys(store)) if n.startswith(prefix)]

        def items(self) -> Iterator[tuple[str, Any]]:
            for name in self.names:
                latest = self.store.get(name)
                if latest is not None:
                    yield name, latest

    class _Bucket:
        def __init__(self, bucket: Any, prefix: str) -> None:
            self._bucket, self.keys = bucket, _Under(bucket.keys, prefix)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._bucket, name)

    def list_objects(self: Any, bucket: Any, prefix: Any, delimiter: Any, marker: Any, max_keys: Any) -> Any:
        if not prefix or isinstance(bucket, FakeTableStorageBucket):
            return original(self, bucket, prefix, delimiter, marker, max_keys)
        return original(self, _Bucket(bucket, prefix), prefix, delimiter, marker, max_keys)

    S3Backend.list_objects = list_objects  # type: ignore[method-assign]
    S3Backend._ecompipe_listing_patched = True  # type: ignore[attr-defined]
