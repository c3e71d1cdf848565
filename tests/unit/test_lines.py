"""validator.lines: the fast reader's counts per line from byte positions equal counting each line's
bytes, whatever the terminators, blank lines, quotes and separators."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from validator.lines import line_bounds, outside_quotes, per_line

_PIECES = ["a", ",", '"', '""', "\n", "\r\n", "\r", "", "xy,z"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_counts_per_line_are_each_lines_own(text: str) -> None:
    data = text.encode()
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends, _ = line_bounds(buf)
    for mark in (",", '"'):
        at = np.flatnonzero(buf == ord(mark))
        counted = [data[a:b].count(mark.encode()) for a, b in zip(starts, ends, strict=True)]
        assert per_line(at, ends).tolist() == counted


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_a_separator_is_outside_quotes_when_an_even_number_of_quotes_precede_it(text: str) -> None:
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    quotes, separators = np.flatnonzero(buf == ord('"')), np.flatnonzero(buf == ord(","))
    if len(quotes) % 2:  # (the reader asks only when every line, so the file, has an even number)
        quotes = quotes[:-1]
    expected = [s for s in separators if np.count_nonzero(quotes < s) % 2 == 0]
    assert outside_quotes(separators, quotes).tolist() == expected
