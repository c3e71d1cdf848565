"""ecompipe.core.timestamps reads what AWS writes as botocore's own parser does: the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.utils import parse_timestamp as botocore_parse
from hypothesis import given
from hypothesis import strategies as st

from ecompipe.core.timestamps import parse_timestamp

MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(MOMENTS, st.sampled_from(["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.000Z"]))
def test_iso_text_as_s3_and_moto_write_it_is_the_same_instant(moment: datetime, form: str) -> None:
    text = moment.strftime(form)
    assert parse_timestamp(text) == botocore_parse(text)
    assert parse_timestamp(text).utcoffset() == timedelta(0)


@given(MOMENTS)
def test_a_header_date_is_the_same_instant(moment: datetime) -> None:
    text = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_timestamp(text) == botocore_parse(text) == moment.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    [1700000000, 1700000000.25, "1700000000.5", "2026-12-07T18:00:00+02:00", "2026-12-07T18:00:00", "2026-12-07"],
)
def test_other_forms_read_as_botocore_reads_them(value: object) -> None:
    assert parse_timestamp(value) == botocore_parse(value)


@pytest.mark.parametrize("value", ["yesterday", "", "Mon, 99 Dec 2026 18:00:00 GMT"])
def test_text_that_is_no_timestamp_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)
