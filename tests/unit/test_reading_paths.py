"""Issue 13, class 6: the fast reader and the csv-module reader give the same rows, rejections and
counts for any bytes (a differential property test), and CR-only files are read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecompipe.core.text import UTF8_BOM as BOM
from validator import reasons
from validator.reading import MalformedFile, RawTable, read_csv

pytestmark = pytest.mark.unit

_TERMINATORS = st.sampled_from(["\n", "\r\n", "\r"])
_PLAIN = st.text(alphabet="ab é1.-[]", max_size=4)
_QUOTED = st.text(alphabet='ab,;\t|"\n\r é', max_size=5).map(lambda s: '"' + s.replace('"', '""') + '"')
_JUNK = st.sampled_from(['"', 'a"b', '"a"b', "\x00", "", " ", '""', ",", ";", "\t", "|", "\ufeff", "\u2028"])


@st.composite
def _files(draw) -> bytes:
    """Mostly well-formed CSV (so the fast path is taken often) with every line-ending mix, quoted
    fields holding separators, quotes and line breaks, blank lines, ragged rows, BOMs, and junk;
    separated by commas, semicolons, tabs or pipes (sniffed from the header)."""
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    header = draw(st.sampled_from(["a,b,c", '"a",b,"c"', "a,b", "A , B,C", "a", '"a,b";c']))
    lines = [header.replace(",", sep) if sep != "," and '"a,b"' not in header else header]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "junk"]))
        if kind == "blank":
            lines.append("")
        elif kind == "junk":
            lines.append(draw(_JUNK))
        else:
            n = draw(st.sampled_from([3, 3, 3, 2, 4]))
            lines.append(sep.join(draw(st.one_of(_PLAIN, _QUOTED)) for _ in range(n)))
    text = "".join(line + draw(_TERMINATORS) for line in lines[:-1]) + lines[-1] + draw(st.sampled_from(["", "\n"]))
    saved = draw(st.sampled_from(["utf-8", "utf-8 with its mark", "utf-16-le", "utf-16-be"]))
    if saved.startswith("utf-16"):  # a spreadsheet's "Unicode text": UTF-16 after its mark
        return ("\ufeff" + text).encode(saved)
    return (BOM if saved != "utf-8" else b"") + text.encode()


def _read(data: bytes, exact: bool) -> RawTable | str:
    try:
        return read_csv(data, exact=exact)
    except MalformedFile as exc:
        return exc.reason


def _shape(table: RawTable | str) -> object:
    if isinstance(table, str):
        return table
    return (
        table.header,
        table.cells.to_numpy().tolist(),
        table.lines.tolist(),
        [(r.line, r.text, r.fields) for r in table.ragged],
        table.blank_lines,
        table.separator,
    )


@settings(max_examples=400, deadline=None)
@given(_files())
def test_fast_and_exact_paths_read_the_same_rows(data: bytes) -> None:
    fast, exact = _read(data, exact=False), _read(data, exact=True)
    assert _shape(fast) == _shape(exact)
    if not isinstance(fast, str):
        assert len(fast.cells) + len(fast.ragged) == len(exact.cells) + len(exact.ragged)


def test_the_fast_path_serves_quoted_files() -> None:
    data = b'a,b,c\r\n"x, y",2,"say ""hi"""\r\n'
    from validator.reading import _read_fast

    assert _read_fast(data, ",") is not None


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_file_separated_otherwise_is_sniffed_and_read_as_its_comma_twin_by_the_fast_path(sep: str) -> None:
    from validator.reading import _read_fast

    comma = 'order_id,user_id,note\r\nO1,U1,"a, b; c | d\t"\r\nO2,U2,x\r\n'
    other = comma.replace(",", sep).replace('"a' + sep + " b; c | d\t", '"a, b; c | d\t')
    assert _read_fast(other.encode(), sep) is not None
    for exact in (False, True):
        table = read_csv(other.encode(), exact=exact)
        assert table.separator == sep
        assert _shape(table)[:-1] == _shape(read_csv(comma.encode(), exact=exact))[:-1]


@pytest.mark.parametrize("exact", [False, True])
def test_cr_only_files_are_read(exact: bool) -> None:
    table = read_csv(b"a,b\r1,2\r3,4\r", exact=exact)
    assert table.header == ["a", "b"] and table.cells.to_numpy().tolist() == [["1", "2"], ["3", "4"]]
    assert table.lines.tolist() == [2, 3]


@pytest.mark.parametrize("exact", [False, True])
def test_a_lone_cr_inside_a_record_ends_it_on_both_paths(exact: bool) -> None:
    table = read_csv(b"a,b\n1,2\r3,4\n5,6\n", exact=exact)
    assert table.cells.to_numpy().tolist() == [["1", "2"], ["3", "4"], ["5", "6"]]
    assert table.lines.tolist() == [2, 3, 4]


def test_nul_bytes_reject_the_file_on_both_paths() -> None:
    for exact in (False, True):
        with pytest.raises(MalformedFile) as err:
            read_csv(b"a,b\n1,\x002\n", exact=exact)
        assert err.value.reason == reasons.UNPARSABLE_CSV


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_with_its_mark_reads_as_its_utf8_twin(codec: str) -> None:
    text = "order_id,user_id,order_date,status,total_amount\r\nO1,Zoë,2025-06-01,delivered,1.00\r\n"
    for exact in (False, True):
        assert _shape(read_csv(("\ufeff" + text).encode(codec), exact=exact)) == _shape(read_csv(text.encode()))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xff\xfe\x00\x00" + "a,b\n".encode("utf-32-le"), "UTF-32"),
        (b"\xff\xfe" + b"a\x00,\x00\x00\xd8\n\x00", "invalid UTF-16"),  # an unpaired surrogate
        (b"a,b\n\xe9,1\n", "invalid UTF-8 byte 0xe9 at byte 4 (line 2)"),
        ("\ufeff".encode("utf-16-le"), "the file is empty"),
    ],
)
def test_any_other_encoding_is_refused_with_the_reason(data: bytes, why: str) -> None:
    for exact in (False, True):
        with pytest.raises(MalformedFile, match=why.replace("(", r"\(").replace(")", r"\)")):
            read_csv(data, exact=exact)


def test_a_header_is_named_by_the_one_rule_of_both_sides_and_a_clash_names_both_columns() -> None:
    spelt = "Order ID,userId,order-date,STATUS,Total Amount\nO1,U1,2025-06-01,delivered,1.00\n"
    plain = "order_id,user_id,order_date,status,total_amount\nO1,U1,2025-06-01,delivered,1.00\n"
    for exact in (False, True):
        assert _shape(read_csv(spelt.encode(), exact=exact)) == _shape(read_csv(plain.encode(), exact=exact))
        with pytest.raises(MalformedFile, match=r"order_id \(as 'Order ID' and 'order_id'\)"):
            read_csv(b"Order ID,order_id\n1,2\n", exact=exact)


@settings(max_examples=300, deadline=None)
@given(_files(), st.data())
def test_rows_read_again_by_line_are_the_rows_first_read(data: bytes, draw) -> None:
    """Issue 39: a table whose cells were let go gives any of its rows again, the same strings."""
    table = _read(data, exact=False)
    if isinstance(table, str) or table.cells is None:
        return
    cells = table.cells.copy()
    table.forget_cells()
    positions = draw.draw(st.lists(st.integers(0, max(len(cells) - 1, 0)), max_size=6)) if len(cells) else []
    for chosen in (list(range(len(cells))), positions):
        again = table.rows(np.asarray(chosen, dtype=np.int64))
        assert again.to_numpy().tolist() == cells.iloc[chosen].to_numpy().tolist()
        assert list(again.columns) == list(cells.columns)


@pytest.mark.parametrize("data", [b"a,b\n\xef\xbb\xbf,x\r\n1,2", b"a\n\xef\xbb\xbf\n", b"a\r\xef\xbb\xbfz\r"])
def test_a_first_row_that_starts_with_u_feff_keeps_it(data: bytes) -> None:
    """pyarrow's reader drops a byte order mark at the start of what it reads: the fast path never
    hands it a buffer that starts with a row (it read `,x` for the first row of the first file)."""
    fast, exact = read_csv(data), read_csv(data, exact=True)
    assert _shape(fast) == _shape(exact) and fast.cells is not None and fast.cells.iloc[0, 0].startswith("\ufeff")
    fast.forget_cells()
    assert fast.rows(np.arange(len(exact.cells))).to_numpy().tolist() == exact.cells.to_numpy().tolist()
