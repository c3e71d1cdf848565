"""The state machine definition (statemachine/pipeline.asl.json) and its substitutions.

The file holds no ARNs: `${Name}` placeholders are filled by DefinitionSubstitutions on AWS (SAM)
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
    "SubnetIds",
    "SecurityGroupId",
    "RunsTable",
    "TopicArn",
    "TriggerFunctionArn",
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_REPO_FILE = Path(__file__).resolve().parents[2] / "statemachine" / "pipeline.asl.json"


def definition_text() -> str:
    """The ASL file: from the checkout, or as installed with the package (share/ecompipe/)."""
    for path in (_REPO_FILE, Path(sys.prefix) / "share" / "ecompipe" / "pipeline.asl.json"):
        if path.is_file():
            return path.read_text()
    raise EcompipeError("statemachine/pipeline.asl.json is neither in the checkout nor installed")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def render(text: str, values: dict[str, str]) -> str:
    """Fill every placeholder; an unknown or missing name is an error, never left in place."""
    wanted = placeholders(text)
    missing = wanted - values.keys()
    if missing:
        raise EcompipeError(f"no value for substitution(s) {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
