"""One rule for the text of every file the product reads (ecompipe.core.text): UTF-8 with or
without its mark, UTF-16 by its mark, any line ends; anything else refused with the reason."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ecompipe.core import text

pytestmark = pytest.mark.unit

_SAVED = {
    "utf-8": lambda t: t.encode(),
    "utf-8 with its mark": lambda t: text.UTF8_BOM + t.encode(),
    "utf-16-le": lambda t: ("\ufeff" + t).encode("utf-16-le"),
    "utf-16-be": lambda t: ("\ufeff" + t).encode("utf-16-be"),
}


_LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)


@given(st.lists(_LINE, min_size=1, max_size=6), st.sampled_from(sorted(_SAVED)), st.sampled_from(["\n", "\r\n", "\r"]))
def test_a_file_saved_any_way_reads_as_the_same_lines(lines: list[str], saved: str, end: str) -> None:
    # (UTF-16-LE's mark then a NUL character is FF FE 00 00: UTF-32-LE's mark, read as such)
    assume(not (saved == "utf-16-le" and (end.join(lines) + end).startswith("\x00")))
    data = _SAVED[saved](end.join(lines) + end)
    assert text.decode(data) == text.decode((end.join(lines) + end).encode())
    assert [line.rstrip("\n") for line in text.reader(io.BytesIO(data))] == lines


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("\ufeffa".encode("utf-32-le"), "UTF-32, which is not read"),
        (b"ok\n\xff\n", r"invalid UTF-8 byte 0xff at byte 3 \(line 2\)"),
        (b"\xfe\xff\xd8\x00\x00a", "invalid UTF-16"),
    ],
)
def test_anything_else_is_refused_with_where_and_why(data: bytes, why: str) -> None:
    with pytest.raises(text.Undecodable, match=why):
        text.as_utf8(data)
