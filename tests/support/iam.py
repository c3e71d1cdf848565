"""The template's IAM policies, evaluated for the S3 calls the code really makes.

moto does not apply IAM, so a grant the code needs and the template lacks only shows on AWS. The
tests record every S3 call a component makes on moto (operation, key or prefix, HTTP status) and ask
the policy of the role that component runs under whether AWS would allow it. S3 answers a read of a
missing key with 404 only to a caller allowed s3:ListBucket on the bucket, and with 403 otherwise
(GetObject / HeadObject API reference); a grant limited by an s3:prefix condition is not counted,
since that read carries no prefix.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.support import sam

ROOT = Path(__file__).resolve().parents[2]
OBJECT_ACTIONS = {"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject"}
OBJECT_ACTIONS |= {"DeleteObject": "s3:DeleteObject"}
# a call naming a version (VersionId) needs the version's own action (S3's actions reference)
OBJECT_ACTIONS |= {"GetObjectVersion": "s3:GetObjectVersion", "DeleteObjectVersion": "s3:DeleteObjectVersion"}
VERSIONED = {"GetObject": "GetObjectVersion", "HeadObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}
READS = {"GetObject", "HeadObject", "GetObjectVersion"}
LISTINGS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
}


@dataclass(frozen=True)
class Call:
    operation: str
    key: str | None  # S3: None for a bucket-level call; DynamoDB: the table
    prefix: str | None  # S3: a listing's prefix; DynamoDB: the index queried
    status: int


class Recorder:
    """The calls made through one boto3 client (S3 or DynamoDB) while it is attached."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.service = client.meta.service_model.service_id.hyphenize()
        self.calls: list[Call] = []

    def __enter__(self) -> Recorder:
        events = self.client.meta.events
        events.register(f"before-parameter-build.{self.service}", self._before)
        events.register(f"after-call.{self.service}", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        events = self.client.meta.events
        events.unregister(f"before-parameter-build.{self.service}", self._before)
        events.unregister(f"after-call.{self.service}", self._after)

    def _before(self, params: dict, context: dict, **_kw: Any) -> None:
        context["iam_params"] = dict(params)  # the call's own parameters, before serialisation

    def _after(self, http_response: Any, model: Any, context: dict, **_kw: Any) -> None:
        params = context.get("iam_params", {})
        status = int(http_response.status_code)
        if self.service in ("sns", "sqs"):
            self.calls.append(Call(model.name, params.get("TopicArn") or params.get("QueueUrl"), None, status))
        elif self.service == "dynamodb" and model.name == "TransactWriteItems":  # each action is its own grant
            for item in params.get("TransactItems", []):
                for kind, action in item.items():
                    operation = {"ConditionCheck": "ConditionCheckItem"}.get(kind, kind + "Item")
                    self.calls.append(Call(operation, str(action["TableName"]), None, status))
        elif self.service == "dynamodb":
            tables = params.get("RequestItems", {}).keys() if "RequestItems" in params else [params.get("TableName")]
            self.calls += [Call(model.name, str(t), params.get("IndexName"), status) for t in tables]
        elif model.name == "DeleteObjects":
            for obj in params.get("Delete", {}).get("Objects", []):
                self.calls.append(Call("DeleteObject", obj["Key"], None, status))
        elif model.name == "CopyObject":
            source = params["CopySource"]
            read = "GetObjectVersion" if isinstance(source, dict) and source.get("VersionId") else "GetObject"
            self.calls.append(Call(read, _copy_source_key(source), None, status))
            self.calls.append(Call("PutObject", params["Key"], None, status))
        else:
            operation = VERSIONED.get(model.name, model.name) if params.get("VersionId") else model.name
            self.calls.append(Call(operation, params.get("Key"), params.get("Prefix"), status))


def _copy_source_key(source: dict | str) -> str:
    """The key of a CopySource: as given, or as botocore rewrites it (bucket/key, quoted)."""
    if isinstance(source, dict):
        return str(source["Key"])
    return unquote(source.split("?")[0].split("/", 1)[1])


def s3_statements(statements: list[dict], bucket: str) -> list[dict]:
    """The statements that grant or deny S3 actions, with the data bucket's ARN resolved."""
    return _granting("s3", statements, sam.Resolver({}, "stack", {"DataBucket": bucket}))


def _granting(service: str, statements: list[dict], resolve: sam.Resolver) -> list[dict]:
    """The statements about `service`'s actions, their actions and resources as lists, resolved."""
    out = []
    for st in statements:
        if any(a.startswith(f"{service}:") for a in listed(st["Action"])):
            out.append({**st, "Action": listed(st["Action"]), "Resource": listed(resolve(st["Resource"]))})
    return out


def listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether the statements allow `action` on `resource` in this request context (an explicit
    Deny wins; a condition on a key the request does not carry does not hold)."""

    def applies(st: dict) -> bool:
        return (
            any(fnmatch.fnmatchcase(action, a) for a in st["Action"])
            and any(fnmatch.fnmatchcase(resource, r) for r in st["Resource"])
            and _holds(st.get("Condition", {}), context)
        )

    matching = [st for st in statements if applies(st)]
    return any(st["Effect"] == "Allow" for st in matching) and not any(st["Effect"] == "Deny" for st in matching)


def _holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator not in ("StringLike", "StringEquals"):
            raise AssertionError(f"a condition this evaluator does not model: {operator}")
        for key, wanted in tests.items():
            if key not in context:
                return False
            values = wanted if isinstance(wanted, list) else [wanted]
            match = fnmatch.fnmatchcase if operator == "StringLike" else str.__eq__
            if not any(match(context[key], v) for v in values):
                return False
    return True


def refusals(calls: list[Call], statements: list[dict], bucket: str) -> list[str]:
    """What AWS would refuse (or answer 403 instead of 404) of these calls under these statements."""
    arn = f"arn:aws:s3:::{bucket}"
    out = []
    for call in dict.fromkeys(calls):
        if call.operation in LISTINGS:
            context = {"s3:prefix": call.prefix} if call.prefix is not None else {}
            if not allows(statements, LISTINGS[call.operation], arn, context):
                out.append(f"{call.operation} prefix={call.prefix!r}: {LISTINGS[call.operation]} not allowed")
        elif call.operation in OBJECT_ACTIONS:
            action = OBJECT_ACTIONS[call.operation]
            if not allows(statements, action, f"{arn}/{call.key}", {}):
                out.append(f"{call.operation} {call.key}: {action} not allowed")
            elif call.operation in READS and call.status == 404 and not allows(statements, "s3:ListBucket", arn, {}):
                out.append(f"{call.operation} {call.key} (missing): 403 on AWS, not 404 (no s3:ListBucket)")
        elif call.operation not in ("CreateBucket", "HeadBucket", "PutBucketVersioning", "GetBucketVersioning"):
            raise AssertionError(f"an S3 operation this evaluator does not model: {call.operation}")
    return out


def task_role_statements(template: dict, command: str, machine_name: str = "PipelineStateMachine") -> list[dict]:
    """The statements of the role a state machine's ECS task `command` runs under: the ASL state
    that runs it -> its task definition (DefinitionSubstitutions) -> TaskRoleArn -> policies."""
    task_definition = template["Resources"][task_definition_of(template, command, machine_name)]
    return _role_statements(template, task_definition["Properties"]["TaskRoleArn"])


def _role_statements(template: dict, role_arn: dict) -> list[dict]:
    """The statements of the role a `!GetAtt Role.Arn` names: its inline policies and the managed
    policies of the template it attaches (`!Ref Policy`)."""
    role = role_arn["Fn::GetAtt"]
    name = role[0] if isinstance(role, list) else role.split(".")[0]
    properties = template["Resources"][name]["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    documents += [
        template["Resources"][m["Ref"]]["Properties"]["PolicyDocument"] for m in properties.get("ManagedPolicyArns", [])
    ]
    return [st for document in documents for st in document["Statement"]]


def _task_definition_of(states: dict, command: str) -> str:
    for state in states.values():
        if state["Type"] == "Map":
            try:
                return _task_definition_of(state["ItemProcessor"]["States"], command)
            except KeyError:
                continue
        params = state.get("Parameters", {})
        overrides = params.get("Overrides", {}).get("ContainerOverrides", [])
        if any(o.get("Command") == ["task", command] for o in overrides):
            return str(params["TaskDefinition"]).strip("${}")
    raise KeyError(command)


def function_statements(template: dict, function: str) -> list[dict]:
    """The inline policy statements of a SAM function."""
    return [st for p in template["Resources"][function]["Properties"]["Policies"] for st in p["Statement"]]


TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}"


class _Logical(sam.Resolver):
    """Resolves a resource's Ref to ref:<logical id>, a table's Arn to TABLE_ARN of its logical id
    and any other Arn to arn:<logical id>: the names the checks below compare."""

    def __init__(self, template: dict) -> None:
        resources = template["Resources"]
        super().__init__({}, "stack", {name: f"ref:{name}" for name in resources})
        self.tables = {name for name, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}

    def _attr(self, name: str, attr: str) -> str:
        return TABLE_ARN.format(name) if name in self.tables and attr == "Arn" else f"arn:{name}"


def _statements_for(service: str, statements: list[dict], template: dict) -> list[dict]:
    return _granting(service, statements, _Logical(template))


def dynamodb_statements(statements: list[dict], template: dict) -> list[dict]:
    """The statements that grant DynamoDB actions, each table named by its logical id."""
    return _statements_for("dynamodb", statements, template)


def table_refusals(calls: list[Call], statements: list[dict], environment: dict[str, str], settings: Any) -> list[str]:
    """What AWS would refuse of these DynamoDB calls. The code finds each table through its
    settings, set from the environment (ECOMPIPE_<FIELD> -> a table of the template): a table the
    component's environment does not name would not exist on AWS under the code's default name."""
    logical = _named_by(environment, settings)
    out = []
    for call in dict.fromkeys(calls):
        if call.operation in ("CreateTable", "DescribeTable", "UpdateTimeToLive", "DescribeTimeToLive"):
            continue  # the tests create the tables; the stack does on AWS
        table = logical.get(call.key or "")
        if table is None:
            out.append(f"{call.operation} {call.key}: the component's environment names no such table")
            continue
        arn = TABLE_ARN.format(table) + (f"/index/{call.prefix}" if call.prefix else "")
        if not allows(statements, f"dynamodb:{call.operation}", arn, {}):
            out.append(f"{call.operation} {table}{'/' + call.prefix if call.prefix else ''}: not allowed")
    return out


def messaging_refusals(
    calls: list[Call], statements: list[dict], template: dict, environment: dict[str, str], settings: Any
) -> list[str]:
    """What AWS would refuse of these SNS publishes and SQS sends: the topic or queue must be one the
    component's environment names (as a Ref: the ARN or URL, so nothing is looked up by name), and
    its role must allow the action on it (a topic's Ref is its ARN, a queue's Arn its ARN)."""
    named = _named_by(environment, settings)
    out = []
    for call in dict.fromkeys(calls):
        target = str(call.key).rsplit(":" if call.operation == "Publish" else "/", 1)[-1]
        logical = named.get(target)
        if logical is None:
            out.append(f"{call.operation} {target}: the component's environment names no such topic or queue")
            continue
        service, resource = ("sns", f"ref:{logical}") if call.operation == "Publish" else ("sqs", f"arn:{logical}")
        if not allows(_statements_for(service, statements, template), f"{service}:{call.operation}", resource, {}):
            out.append(f"{call.operation} {logical}: not allowed")
    return out


def _named_by(environment: dict[str, str], settings: Any) -> dict[str, str]:
    """The names the code uses (its settings, as the tests set them) -> the logical id the
    component's environment gives each on AWS (ECOMPIPE_<FIELD>: !Ref <logical id>)."""
    out = {}
    for var, ref in environment.items():
        field = var.removeprefix("ECOMPIPE_").lower()
        if var.startswith("ECOMPIPE_") and isinstance(getattr(settings, field, None), str):
            out[getattr(settings, field)] = ref
    return out


def environment_of(template: dict, resource: str) -> dict[str, str]:
    """A function's or task definition's environment, each value a Ref's logical id or text."""
    props = template["Resources"][resource]["Properties"]
    if "ContainerDefinitions" in props:
        pairs = {e["Name"]: e["Value"] for e in props["ContainerDefinitions"][0].get("Environment", [])}
    else:
        pairs = dict(props.get("Environment", {}).get("Variables", {}))
    return {k: v["Ref"] if isinstance(v, dict) and "Ref" in v else str(v) for k, v in pairs.items()}


def task_definition_of(template: dict, command: str, machine_name: str = "PipelineStateMachine") -> str:
    """The logical id of the task definition the state machine runs `command` with."""
    machine = template["Resources"][machine_name]["Properties"]
    placeholder = _task_definition_of(_definition(machine)["States"], command)
    return str(machine["DefinitionSubstitutions"][placeholder]["Ref"])


def _definition(machine: dict) -> dict:
    """The ASL a SAM state machine's DefinitionUri names."""
    return json.loads((ROOT / "infra" / machine["DefinitionUri"]).resolve().read_text())


ASL_ACTIONS = {
    "arn:aws:states:::s3:getObject": "s3:GetObject",
    "arn:aws:states:::aws-sdk:s3:deleteObject": "s3:DeleteObject",
    "arn:aws:states:::dynamodb:updateItem": "dynamodb:UpdateItem",
    "arn:aws:states:::dynamodb:getItem": "dynamodb:GetItem",
    "arn:aws:states:::sns:publish": "sns:Publish",
    "arn:aws:states:::lambda:invoke": "lambda:InvokeFunction",
    "arn:aws:states:::ecs:runTask.sync": "ecs:RunTask",
    "arn:aws:states:::aws-sdk:s3:getObject": "s3:GetObject",
    "arn:aws:states:::aws-sdk:s3:headObject": "s3:GetObject",  # HEAD is authorised as GetObject
    "arn:aws:states:::aws-sdk:s3:putObject": "s3:PutObject",
    "arn:aws:states:::sqs:sendMessage": "sqs:SendMessage",
    "arn:aws:states:::aws-sdk:sqs:sendMessageBatch": "sqs:SendMessage",
}


def evaluate(expression: str, data: dict[str, Any]) -> str:
    """A parameter's `.$` value for the state data `data`: a path (`$.a.b`), or the intrinsic
    functions the definitions use to build keys (States.Format, States.Hash), nested."""
    value, rest = _expression(expression, data)
    assert not rest.strip(), f"left over after {expression!r}: {rest!r}"
    return value


_INTRINSICS = {
    "Format": lambda template, *args: "".join(p + a for p, a in zip(template.split("{}"), [*args, ""], strict=True)),
    "Hash": lambda text, algorithm: hashlib.new(algorithm.replace("-", "").lower(), text.encode()).hexdigest(),
}


def _expression(text: str, data: dict[str, Any]) -> tuple[str, str]:
    """(the value of the expression text starts with, the text after it)."""
    text = text.lstrip()
    if text.startswith("'"):
        end = text.index("'", 1)  # (the definitions' literals hold no escaped quote)
        return text[1:end], text[end + 1 :]
    path = re.match(r"\$((?:\.\w+)+)", text)
    if path:
        node: Any = data
        for part in path.group(1).split(".")[1:]:
            node = node[part]
        return str(node), text[path.end() :]
    call = re.match(r"States\.(\w+)\(", text)
    assert call and call.group(1) in _INTRINSICS, f"an expression this check does not evaluate: {text!r}"
    args, rest = [], text[call.end() :]
    while True:
        arg, rest = _expression(rest, data)
        args.append(arg)
        rest = rest.lstrip()
        if not rest.startswith(","):
            break
        rest = rest[1:]
    assert rest.startswith(")"), f"an unclosed call in {text!r}"
    return _INTRINSICS[call.group(1)](*args), rest[1:]


ACCOUNT_ARN = "arn:aws:{}:us-east-1:123456789012:{}"  # the region and account the resolver gives


def _map_run_needs(name: str, state: dict, machine_name: str) -> list[tuple[str, str, str]]:
    """A Distributed Map runs its items as child executions of its own state machine, named
    <machine>/<the Map's label>:<id>, which the Map run watches and stops."""
    if state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
        return []
    child = ACCOUNT_ARN.format("states", f"execution:{machine_name}/{state.get('Label', name)}:0f1e2d3c")
    return [(name, "states:StartExecution", ACCOUNT_ARN.format("states", f"stateMachine:{machine_name}"))] + [
        (name, a, child) for a in ("states:DescribeExecution", "states:StopExecution")
    ]


def map_run_refusals(template: dict, machine_name: str) -> list[str]:
    """What AWS would refuse of the calls a state machine's Distributed Maps make on their child
    executions, under the state machine's role."""
    machine = template["Resources"][machine_name]["Properties"]
    name = _Logical(template)(machine["Name"])
    granted = _statements_for("states", _role_statements(template, machine["Role"]), template)

    def walk(states: dict) -> list[tuple[str, str, str]]:
        maps = [(n, s) for n, s in states.items() if s["Type"] == "Map"]
        return [c for n, s in maps for c in _map_run_needs(n, s, name) + walk(s["ItemProcessor"]["States"])]

    calls = walk(_definition(machine)["States"])
    assert calls, f"{machine_name} has no Distributed Map"
    return [
        f"{state}: {action} on {arn} not allowed"
        for state, action, arn in calls
        if not allows(granted, action, arn, {})
    ]


def state_machine_refusals(template: dict, machine_name: str, data: dict[str, Any]) -> list[str]:
    """What AWS would refuse of the S3, DynamoDB, SNS (and its key), SQS, Lambda and ECS calls the
    state machine's own states make (Task states and Distributed Map ItemReaders, Map children
    included) under the state machine's role, for the state data `data` (the execution input, and
    what earlier states add to it). moto's engine makes these calls with clients of its own, so
    they are read from the definition: constants, ${substitutions} (from DefinitionSubstitutions),
    paths into `data` and the intrinsic functions that build keys (`evaluate`)."""
    resources = template["Resources"]
    machine = resources[machine_name]["Properties"]
    definition = _definition(machine)
    resolve = _Logical(template)
    substitutions = machine["DefinitionSubstitutions"]
    statements = _role_statements(template, machine["Role"])

    def value(params: dict, name: str) -> str:
        if f"{name}.$" in params:
            return evaluate(params[f"{name}.$"], data)
        text = str(params[name])
        return str(resolve(substitutions[text[2:-1]])) if text.startswith("${") else text

    def needs(resource: str, params: dict) -> list[tuple[str, str]]:
        action = ASL_ACTIONS[resource]
        if action.startswith("s3:"):
            return [(action, f"arn:aws:s3:::{value(params, 'Bucket')}/{value(params, 'Key')}")]
        if action == "sqs:SendMessage":  # a queue's Ref is its URL, its Arn what a grant names
            return [(action, "arn:" + value(params, "QueueUrl").removeprefix("ref:"))]
        if action.startswith("dynamodb:"):
            return [(action, TABLE_ARN.format(value(params, "TableName").removeprefix("ref:")))]
        if action == "sns:Publish":
            topic = value(params, "TopicArn")
            key = resources[topic.removeprefix("ref:")]["Properties"].get("KmsMasterKeyId")
            keys = [(a, resolve({"Fn::GetAtt": [key["Ref"], "Arn"]})) for a in ("kms:GenerateDataKey", "kms:Decrypt")]
            return [(action, topic)] + (keys if isinstance(key, dict) else [])
        if action == "ecs:RunTask":  # and pass the task its roles
            task = resources[value(params, "TaskDefinition").removeprefix("ref:")]["Properties"]
            family = ACCOUNT_ARN.format("ecs", f"task-definition/{resolve(task['Family'])}:1")
            roles = [resolve(task[r]) for r in ("TaskRoleArn", "ExecutionRoleArn")]
            # .sync: the engine watches the task (DescribeTasks), stops it on a timeout or abort
            # (StopTask), and learns that it stopped through its managed EventBridge rule
            cluster = resolve({"Ref": value(params, "Cluster").removeprefix("arn:")})
            started = ACCOUNT_ARN.format("ecs", f"task/{cluster}/0123456789abcdef0123456789abcdef")
            rule = ACCOUNT_ARN.format("events", "rule/StepFunctionsGetEventsForECSTaskRule")
            return (
                [(action, family)]
                + [("iam:PassRole", role) for role in roles]
                + [(a, started) for a in ("ecs:DescribeTasks", "ecs:StopTask")]
                + [(a, rule) for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule")]
            )
        return [(action, value(params, "FunctionName"))]

    def walk(states: dict) -> list[tuple[str, str, str]]:
        out = []
        for name, state in states.items():
            if state["Type"] == "Map":
                reader = state.get("ItemReader")
                if reader:
                    out += [(name, a, r) for a, r in needs(reader["Resource"], reader["Parameters"])]
                out += _map_run_needs(name, state, machine_name)
                out += walk(state["ItemProcessor"]["States"])
            elif state["Type"] == "Task" and state["Resource"] in ASL_ACTIONS:
                out += [(name, a, r) for a, r in needs(state["Resource"], state["Parameters"])]
        return out

    machine_name = resolve(machine["Name"])
    refused = []
    calls = walk(definition["States"])
    assert calls, "no call of the state machine's own was found"
    for name, action, resource in calls:
        service = action.split(":")[0]
        granted = (
            s3_statements(statements, data["bucket"])
            if service == "s3"
            else _statements_for(service, statements, template)
        )
        if not allows(granted, action, resource, {}):
            refused.append(f"{name}: {action} on {resource} not allowed")
    return refused
