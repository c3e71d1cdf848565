"""The container contract: the environment variables a task reads, named once.

statemachine/pipeline.asl.json passes exactly these in its container overrides (a test checks);
bucket, tables and region come from the task definition's ECOMPIPE_* settings as usual.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ecompipe.core import layout
from ecompipe.core.errors import SettingsError

RUN_ID = "ECOMPIPE_RUN_ID"
BATCH_ID = "ECOMPIPE_BATCH_ID"
BUCKET = "ECOMPIPE_BUCKET"

FILE_KEY = "ECOMPIPE_FILE_KEY"  # the one file a parse-file task parses (a fanned-out batch)
SHARD = "ECOMPIPE_SHARD"  # the one shard a validate-shard task validates (a fanned-out batch)
GROUP = "ECOMPIPE_GROUP"  # the one group (of dates, or piece of cells) a transform-group task does (a fanned-out batch)

OVERRIDE_NAMES = (RUN_ID, BATCH_ID, BUCKET)
PART_OVERRIDE_NAMES = (*OVERRIDE_NAMES, FILE_KEY)
SHARD_OVERRIDE_NAMES = (*OVERRIDE_NAMES, SHARD)
GROUP_OVERRIDE_NAMES = (*OVERRIDE_NAMES, GROUP)
CONTAINER_NAME = "ecompipe"
SALES_KEY = "ECOMPIPE_SALES_KEY"  # the sales file a sales-split task splits
TASK_COMMANDS = (
    "parse-file",
    "validate-shard",
    "validate",
    "plan-transform",
    "transform-group",
    "transform",
    "archive",
    "batch",
    "sales-split",
)


@dataclass(frozen=True)
class TaskInput:
    run_id: str
    batch_id: str
    file_key: str | None = None  # parse-file only
    group: int | None = None  # transform-group only
    shard: int | None = None  # validate-shard only

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TaskInput:
        env = os.environ if env is None else env
        missing = [n for n in (RUN_ID, BATCH_ID) if not env.get(n)]
        if missing:
            raise SettingsError(f"a task needs {', '.join(missing)} in its environment (set by the state machine)")
        numbers = {name: env.get(name) or None for name in (GROUP, SHARD)}
        for name, value in numbers.items():
            if value is not None and not value.isdigit():
                raise SettingsError(f"{name} must be a number (0, 1, ...), not {value!r}")
        group, shard = (None if v is None else int(v) for v in numbers.values())
        return cls(env[RUN_ID], layout.check_batch_id(env[BATCH_ID]), env.get(FILE_KEY) or None, group, shard)


SALES_RUN = "ECOMPIPE_SALES_RUN"  # the sales workflow execution it splits for (its records name it)
