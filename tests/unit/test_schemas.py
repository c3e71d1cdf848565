"""The pandera schemas as validator.batch runs them over a whole batch: read, never copied, and
a missing value passes every check but the one that says it is missing."""

import pandas as pd
import pytest

from validator import reasons, schemas
from validator.batch import InputFile
from validator.files import parse_file

pytestmark = pytest.mark.unit

ITEMS = b"order_id,product_id,quantity,unit_price\n1,1,1,10.00\n1,2,0,5.50\n1,1,2,10.00\n3,,1,1.00\n" + b"".join(
    f"{9 + i},1,1,1.00\n".encode() for i in range(6)
)


def test_failures_read_the_frame_in_place_without_copying_or_changing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's frame is the largest object of its validation: pandera copies it first unless
    told it may work in place, which costs a whole-batch allocation for nothing (no column is
    coerced). The frame must come out as it went in."""
    frame = parse_file(InputFile("incoming/order_items_a.csv", ITEMS)).frame
    assert frame is not None
    before = frame.copy(deep=True)
    copied: list[int] = []
    dropped: list[int] = []
    copy, dropna = pd.DataFrame.copy, pd.Series.dropna

    def recording_copy(self: pd.DataFrame, *args: object, **kwargs: object) -> pd.DataFrame:
        copied.append(id(self))
        return copy(self, *args, **kwargs)

    def recording_dropna(self: pd.Series, *args: object, **kwargs: object) -> pd.Series:
        dropped.append(len(self))
        return dropna(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "copy", recording_copy)
    monkeypatch.setattr(pd.Series, "dropna", recording_dropna)
    found = schemas.failures("order_items", frame, "2026-12-03")
    monkeypatch.undo()

    assert id(frame) not in copied
    # a column with a missing value (item_key, product_id here) is checked whole, not copied
    # without it first (pandera's ignore_na): only failure cases, a few rows, are
    assert all(n < len(frame) for n in dropped), dropped
    pd.testing.assert_frame_equal(frame, before)
    by_row = found.groupby("index")["reason"].agg(set).to_dict()
    assert by_row == {
        1: {reasons.QUANTITY_BELOW_1},
        2: {reasons.DUPLICATE_KEY},
        3: {reasons.MISSING_VALUE},
    }
