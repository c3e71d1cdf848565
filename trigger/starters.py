"""Starting a batch is injected: Step Functions on AWS; ecompipe.local.starter runs it in process."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import ClientError

from ecompipe.core.errors import EcompipeError, error_code


class AlreadyStarted(EcompipeError):
    """An execution with this batch id exists: the batch is running or done."""


class Starter(Protocol):
    def start(self, run_id: str, execution_input: dict[str, Any]) -> str:
        """Start the run; return a reference (an execution ARN). Raise AlreadyStarted for a run
        id that was started before; anything else raised means nothing started."""
        ...


class StepFunctionsStarter:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self.sfn = sfn
        self.arn = state_machine_arn

    def start(self, run_id: str, execution_input: dict[str, Any]) -> str:
        try:
            # The run id (the batch id, for automatic runs) is the execution name: a duplicate
            # delivery of the same events cannot start a second run.
            resp = self.sfn.start_execution(stateMachineArn=self.arn, name=run_id, input=json.dumps(execution_input))
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                raise AlreadyStarted(f"an execution named {run_id} already exists") from None
            raise
        return str(resp["executionArn"])
