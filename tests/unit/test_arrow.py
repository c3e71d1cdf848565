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


def test_contiguous_keeps_every_value_and_type_and_leaves_one_chunk_per_arrow_column() -> None:
    import pyarrow as pa
    from pandas.testing import assert_frame_equal

    from ecompipe.core.arrow import contiguous

    part = pd.DataFrame(
        {
            "text": pd.Series(["a", None, "=1+1"], dtype="str"),
            "arrow_int": pd.Series([1, None, 3], dtype=pd.ArrowDtype(pa.int64())),
            "masked": pd.array([1, None, 3], dtype="Int64"),
            "file": pd.Categorical(["x", "y", "x"]),
        }
    )
    frame = pd.concat([part, part, part], ignore_index=True).set_axis(range(100, 109))
    assert frame["text"].array.__arrow_array__().num_chunks == 3
    out = contiguous(frame)
    assert_frame_equal(out, frame)
    for column in ("text", "arrow_int"):
        assert out[column].array.__arrow_array__().num_chunks == 1
