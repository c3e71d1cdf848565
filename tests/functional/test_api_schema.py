"""schemathesis over the API's own OpenAPI spec (in process, against moto holding the worked
example), open and with an API key: no generated request, valid or not, gets a server error, and
every response conforms to the spec (status codes, content types, bodies, auth)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ecompipe.api import create_app
from tests.functional.test_api import WORKED
from tests.helpers import run_files

pytestmark = pytest.mark.functional


KEY = "schemathesis-key"


@pytest.fixture(params=[None, KEY], ids=["open", "keyed"])
def api_schema(resources, request):
    run_files(resources, WORKED)
    settings = replace(resources.settings, api_key=request.param)
    app = create_app(settings, replace(resources, settings=settings))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None)
def test_no_server_error(case) -> None:
    # every check but "schema-valid requests are accepted": a valid date pair with from > to, or
    # a range over 366 days, is schema-valid and rightly a 400. With a key, schemathesis also
    # sends requests without it and expects 401.
    case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=[positive_data_acceptance])
