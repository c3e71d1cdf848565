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
