"""The state machine definitions (statemachine/*.asl.json) and their substitutions: the batch
pipeline (pipeline.asl.json) and the JSON sales files (sales.asl.json).

The files hold no ARNs: `${Name}` placeholders are filled by DefinitionSubstitutions on AWS (SAM)
and by `render` locally, from the same list of names.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ecompipe.core.errors import EcompipeError

SUBSTITUTIONS = (
    "ClusterArn",
    "ValidatorTaskDefinitionArn",
    "TransformerTaskDefinitionArn",
    "BatchTaskDefinitionArn",
    "SubnetIds",
    "SecurityGroupId",
    "RunsTable",
    "TopicArn",
    "TriggerFunctionArn",
)
SALES_SUBSTITUTIONS = (
    "EventsQueueUrl",
    "SalesDeadLetterQueueUrl",
    "InlineMaxBytes",
    "ClusterArn",
    "SalesTaskDefinitionArn",
    "SubnetIds",
    "SecurityGroupId",
    "SalesRunsTable",
    "JudgeWaitSeconds",
    "JudgeMaxPolls",
)
PIPELINE, SALES = "pipeline", "sales"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_REPO_DIR = Path(__file__).resolve().parents[2] / "statemachine"


def definition_text(name: str = PIPELINE) -> str:
    """An ASL file (pipeline or sales): from the checkout, or as installed (share/ecompipe/)."""
    file = f"{name}.asl.json"
    for path in (_REPO_DIR / file, Path(sys.prefix) / "share" / "ecompipe" / file):
        if path.is_file():
            return path.read_text()
    raise EcompipeError(f"statemachine/{file} is neither in the checkout nor installed")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def render(text: str, values: dict[str, str]) -> str:
    """Fill every placeholder; an unknown or missing name is an error, never left in place."""
    wanted = placeholders(text)
    missing = wanted - values.keys()
    if missing:
        raise EcompipeError(f"no value for substitution(s) {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
