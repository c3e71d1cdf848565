"""Athena's two wire forms, both served by the emulator (ecompipe/local/patches.py).

botocore described Athena with the json protocol (`POST /`, `X-Amz-Target`) until 1.44.8 and with
rest-json (`POST /workgroups`, `GET /query-executions/{id}`) from 1.44.18 on; moto 5.2 routed only
the first. The project decided to teach the emulator the other form instead of pinning botocore
below it: whichever form the locked (or the newest) botocore speaks, the same calls work."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import botocore.session
import pytest
from moto import mock_aws

from tests.conftest import MOTO_CONFIG

pytestmark = pytest.mark.functional


def _athena_model() -> dict:
    return botocore.session.get_session().get_component("data_loader").load_service_model("athena", "service-2")


def _client_speaking(protocol: str, models: Path):
    """An Athena client whose model says `protocol`, whatever the installed botocore says."""
    model = copy.deepcopy(_athena_model())
    meta = model["metadata"]
    meta["protocol"], meta["protocols"] = protocol, [protocol]
    if protocol == "json":
        meta.update(jsonVersion="1.1", targetPrefix="AmazonAthena")
    folder = models / "athena" / meta["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(models))
    return boto3.Session(botocore_session=session, region_name="us-east-1").client("athena")


def test_the_installed_botocore_speaks_a_form_the_emulator_serves() -> None:
    assert _athena_model()["metadata"]["protocol"] in {"json", "rest-json"}


@pytest.mark.parametrize("protocol", ["json", "rest-json"])
def test_workgroups_and_queries_in_either_form(protocol: str, tmp_path: Path, aws_env: None) -> None:
    with mock_aws(config=MOTO_CONFIG):
        athena = _client_speaking(protocol, tmp_path)
        athena.create_work_group(Name="wg", Configuration={"BytesScannedCutoffPerQuery": 10**9})
        assert [g["Name"] for g in athena.list_work_groups()["WorkGroups"]] == ["primary", "wg"]
        limit = athena.get_work_group(WorkGroup="wg")["WorkGroup"]["Configuration"]["BytesScannedCutoffPerQuery"]
        assert limit == 10**9
        started = athena.start_query_execution(
            QueryString="SELECT 1", WorkGroup="wg", QueryExecutionContext={"Database": "ecompipe"}
        )
        execution = athena.get_query_execution(QueryExecutionId=started["QueryExecutionId"])["QueryExecution"]
        assert execution["Query"] == "SELECT 1" and execution["QueryExecutionContext"]["Database"] == "ecompipe"
        assert athena.list_query_executions(WorkGroup="wg")["QueryExecutionIds"] == [started["QueryExecutionId"]]
        with pytest.raises(athena.exceptions.ClientError):
            athena.create_work_group(Name="wg")  # a second time: refused, in either form
