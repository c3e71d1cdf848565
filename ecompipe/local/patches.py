"""Fixes to the emulator (moto), applied where it runs in our process: the embedded emulator and
the in-process tests. Each changes how moto works, never what AWS does; none is loaded on AWS.
What moto does wrong is fixed here; what it does slowly, in ecompipe.local.speedups."""

from __future__ import annotations

from typing import Any

from ecompipe.local import routing, speedups


def apply() -> None:
    """Every fix below (idempotent)."""
    patch_moto_ecs_integration()
    patch_moto_sdk_object_bodies()
    patch_moto_athena_rest_json()
    patch_moto_s3_conditional_writes()
    speedups.apply()
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
