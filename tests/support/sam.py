"""The SAM template, transformed offline (aws-sam-translator) into plain CloudFormation, as
`sam package` + the Serverless transform would: local CodeUri / DefinitionUri become an S3 location
and an inline definition. Used by the tests to deploy the real template into moto."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

# The AWS managed policies SAM attaches by name, mapped offline (no IAM call).
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


class _OfflinePolicies:
    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, with CloudFormation's short-form tags (!Ref, !Sub, ...) understood."""
    from cfnlint.decode import cfn_yaml

    return json.loads(json.dumps(cfn_yaml.load(str(path)), default=str))


def packaged(template: dict[str, Any], code_bucket: str = "ecompipe-artifacts") -> dict[str, Any]:
    """What `sam package` produces: code in S3, the state machine definition inline."""
    out = json.loads(json.dumps(template))
    for resource in out["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{code_bucket}/trigger.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            definition = (TEMPLATE.parent / props.pop("DefinitionUri")).resolve()
            props["Definition"] = json.loads(definition.read_text())
    return out


def transform(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """SAM -> CloudFormation, offline."""
    from samtranslator.translator.transform import transform as sam_transform

    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return sam_transform(template, {}, _OfflinePolicies())


# Resource types moto's CloudFormation skips (with a warning); the tests create them through their
# own APIs from the template's properties, so those properties still meet the real API shapes.
MOTO_SKIPS = ("AWS::Glue::Database", "AWS::Glue::Table", "AWS::Athena::WorkGroup")


class Resolver:
    """The intrinsic functions a deployed stack resolves (Ref, Sub, GetAtt Arn, Join, Split), for
    the resources the tests create by hand after the stack."""

    def __init__(self, cfn: dict[str, Any], stack: str, physical: dict[str, str], region: str = "us-east-1") -> None:
        params = {
            k: (v["Default"] if v.get("Type") == "Number" else str(v.get("Default", "")))
            for k, v in cfn.get("Parameters", {}).items()
            if "Default" in v or v.get("Type") != "Number"
        }
        pseudo = {"AWS::AccountId": "123456789012", "AWS::Region": region, "AWS::StackName": stack,
                  "AWS::Partition": "aws"}  # fmt: skip
        self.names = {**params, **pseudo, **physical}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(fn, arg)] = value.items()
            if fn == "Ref":
                return self.names[arg]
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], {k: self(v) for k, v in arg[1].items()})
                return self._sub(text, extra)
            if fn == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attr(name, attr)
            if fn == "Fn::Join":
                return str(self(arg[0])).join(str(self(v)) for v in self(arg[1]))
            if fn == "Fn::Split":
                return str(self(arg[1])).split(self(arg[0]))
        return {k: self(v) for k, v in value.items()}

    def _attr(self, name: str, attr: str) -> str:
        assert attr == "Arn", attr
        return f"arn:aws:s3:::{self.names[name]}"

    def _sub(self, text: str, extra: dict[str, Any]) -> str:
        import re

        def one(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in extra:
                return str(extra[inner])
            if "." in inner:
                return self._attr(*inner.split(".", 1))
            return self.names[inner]

        return re.sub(r"\$\{([^}]+)\}", one, text)


def create_skipped(
    cfn: dict[str, Any], stack: str, physical: dict[str, str], clients: dict[str, Any]
) -> dict[str, str]:
    """Create the resources of MOTO_SKIPS through their APIs, in dependency order; their names."""
    resolve = Resolver(cfn, stack, physical)
    made: dict[str, str] = {}
    for kind in MOTO_SKIPS:
        for logical, resource in cfn["Resources"].items():
            if resource["Type"] != kind:
                continue
            props = resolve(resource["Properties"])
            if kind == "AWS::Glue::Database":
                clients["glue"].create_database(DatabaseInput=props["DatabaseInput"])
                made[logical] = props["DatabaseInput"]["Name"]
            elif kind == "AWS::Glue::Table":
                clients["glue"].create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
                made[logical] = props["TableInput"]["Name"]
            else:
                config = props["WorkGroupConfiguration"]
                clients["athena"].create_work_group(
                    Name=props["Name"], Description=props.get("Description", ""), Configuration=config
                )
                made[logical] = props["Name"]
            resolve.names[logical] = made[logical]
    return made
