"""Arrow helpers: the fast paths give exactly what the pandas ones give."""

import pandas as pd
import pytest
from pandas.testing import assert_series_equal

from ecompipe.core.arrow import category_as_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "values",
    [
        ["incoming/a.csv", None, "incoming/b.csv", "incoming/a.csv"],
        [],
        [None, None],
        ["=cmd|' /C calc'!A0", 'naïve, "quoted"\nline'],
    ],
)
def test_category_as_text_is_astype_str(values: list) -> None:
    series = pd.Series(pd.Categorical(values), index=range(10, 10 + len(values)), name="source_file")
    assert_series_equal(category_as_text(series), series.astype("str"))


def test_category_as_text_keeps_unused_categories_out() -> None:
    series = pd.Series(pd.Categorical(["b"], categories=["a", "b", "c"]))
    assert category_as_text(series).tolist() == ["b"]
