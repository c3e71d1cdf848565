"""File level: bytes -> header + string cells + the original line number of every row.

Lines end at LF, CRLF or a lone CR (universal newlines, as the csv module and pyarrow read them),
so CR-only files are read like any other. Two paths give the same rows, rejections and counts for
any bytes (tests/unit/test_reading_paths.py checks that over generated files):

- the fast one: numpy finds the line boundaries and the field count of every line, pyarrow
  parses the cells. It serves files whose every line is well-formed on its own: no quoted field
  spans lines, and every quote opens or closes a field or is doubled inside one;
- the exact one, for every other file: the csv module, which tracks physical lines.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ecompipe.core import text as text_rule
from ecompipe.core.vocabulary import word
from validator import reasons
from validator.lines import line_bounds, line_end, outside_quotes, per_line

SEPARATORS = (",", ";", "\t", "|")  # sniffed from the header, in this order of preference
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DEFAULT_BLOCK = 1 << 20  # pyarrow's default block size

# The file size limit (ECOMPIPE_MAX_FILE_MB) bounds fields; how long a field may be is the
# validator's business (validator.dialects.MAX_CHARS), not the parser's.
csv.field_size_limit(2**31 - 1)


class MalformedFile(Exception):
    """The whole file is rejected; `reason` is a code from validator.reasons."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class RaggedRow:
    line: int
    text: str
    fields: int


@dataclass
class RawTable:
    """The cells of one CSV file as strings, with the physical line each row starts on. Once the
    file is parsed, a table the fast reader read lets its cells go (`forget_cells`): the few rows
    a report shows are read again by line (`rows`) from the file's bytes, or from the file itself
    when it can be read again, and the batch holds neither a second copy of every cell (issue 39:
    ~2.3x the CSV bytes) nor every file's bytes (1x)."""

    header: list[str]
    cells: pd.DataFrame | None
    lines: np.ndarray
    ragged: list[RaggedRow] = field(default_factory=list)
    blank_lines: int = 0
    separator: str = ","  # sniffed from the header (`sniff`)
    source: bytes | None = field(default=None, repr=False)  # the UTF-8 bytes the fast reader read
    # the same bytes read again from the file, once `source` is let go
    reopen: Callable[[], bytes] | None = field(default=None, repr=False)
    # where each row's line starts in `source` (the fast reader's: a row read again is found
    # without finding every line of the file first)
    starts: np.ndarray | None = field(default=None, repr=False)
    # the rows last read again (their positions' bytes -> cells): the rejected rows' cells are
    # asked for twice, for the errors' values and for the rejected rows themselves
    _reread: tuple[bytes, pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    def forget_cells(self, reopen: Callable[[], bytes] | None = None) -> None:
        """Drop the cells when they can be read again from the bytes (kept otherwise); and the
        bytes too, given `reopen`, which reads the same bytes again from the file (or fails)."""
        if self.source is None:
            return
        self.cells = None
        if reopen is not None:
            self.source, self.reopen = None, reopen

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The cells of these rows (positions among the rows, in the order given), as read."""
        if self.cells is not None:
            return self.cells.iloc[positions].reset_index(drop=True)
        asked = np.asarray(positions, dtype=np.int64).tobytes()
        if self._reread is None or self._reread[0] != asked:
            at = None if self.starts is None else self.starts[positions]
            self._reread = (asked, _reread(self._source(), self.lines[positions], self.header, self.separator, at))
        return self._reread[1].copy()

    def _source(self) -> bytes:
        if self.source is not None:
            return self.source
        assert self.reopen is not None
        return self.reopen()


def read_csv(data: bytes, *, exact: bool = False) -> RawTable:
    """Parse one CSV file (`exact`: always with the csv module). Raises MalformedFile for problems
    that spoil the whole file. UTF-8 with or without its mark, and UTF-16 by its mark, are read
    alike (ecompipe.core.text)."""
    try:
        data = text_rule.as_utf8(data)
    except text_rule.Undecodable as exc:
        raise MalformedFile(reasons.UNDECODABLE, str(exc)) from None
    if not data.strip():
        raise MalformedFile(reasons.EMPTY_FILE, "the file is empty")
    text = data.decode("utf-8")
    if "\x00" in text:
        raise MalformedFile(reasons.UNPARSABLE_CSV, "the file contains NUL bytes (binary data?)")
    sep = sniff(text)
    table = None if exact else _read_fast(data, sep)
    return table if table is not None else _read_with_csv_module(text, sep)


def sniff(text: str) -> str:
    """The separator of a file: of comma, semicolon, tab and pipe, the one that splits its header
    (first non-blank line) into the most fields, comma on a tie (a one-column header is comma)."""
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start : len(text) if end < 0 else end].split("\r")[0]
        if line.strip() or end < 0:
            break
        start = end + 1
    fields = {sep: len(next(csv.reader([line], delimiter=sep), [])) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: (fields[sep], -SEPARATORS.index(sep)))


def _check_header(header: list[str]) -> list[str]:
    """The header's column names made canonical by the one naming rule of both sides
    (ecompipe.core.vocabulary.word: 'Order ID', 'orderId', 'order-id' are order_id)."""
    raw = [h.strip() for h in header]
    if not any(raw):
        raise MalformedFile(reasons.EMPTY_FILE, "the header row is empty")
    names = [word(h) or h.lower() for h in raw]  # (a name of no letters or digits stays as it is)
    given: dict[str, list[str]] = {}
    for name, h in zip(names, raw, strict=True):
        if name:
            given.setdefault(name, []).append(h)
    dupes = {n: hs for n, hs in given.items() if len(hs) > 1}
    if dupes:
        named = "; ".join(f"{n} (as {' and '.join(repr(h) for h in hs)})" for n, hs in sorted(dupes.items()))
        raise MalformedFile(reasons.DUPLICATE_HEADER, f"duplicated column(s) in header: {named}")
    if "" in names:
        raise MalformedFile(
            reasons.UNPARSABLE_CSV, f"the header has an unnamed column at position {names.index('') + 1}"
        )
    return names


def _well_formed_line(sep: str) -> str:
    """A line of fields separated by `sep`, each unquoted and quote-free or quoted with doubled
    inner quotes (a regex)."""
    s = re.escape(sep)
    field = f'(?:[^"{s}\\r\\n]*|"(?:[^"]|"")*")'
    return "^" + field + "(?:" + s + field + ")*(?:\r\n|\n|\r)?$"


def _well_formed(data: bytes, starts: np.ndarray, stops: np.ndarray, with_quotes: np.ndarray, sep: str) -> bool:
    """Whether every line holding a quote is fields that are either unquoted and quote-free, or
    quoted with doubled inner quotes (checked by one vectorised regex over those lines)."""
    if not with_quotes.any():
        return True
    offsets = np.concatenate((starts, [stops[-1]])).astype(np.int64)
    lines = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data))
    ok = pc.match_substring_regex(lines.filter(pa.array(with_quotes)), _well_formed_line(sep))
    return bool(pc.all(ok).as_py())


def _read_fast(data: bytes, sep: str) -> RawTable | None:
    """None when some line is not well-formed on its own (then only the csv module reads it right)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends, stops = line_bounds(buf)
    quote_at = np.flatnonzero(buf == ord('"'))
    quoted = bool(len(quote_at))
    quotes = per_line(quote_at, ends)
    if quoted and ((quotes % 2).any() or not _well_formed(data, starts, stops, quotes > 0, sep)):
        return None
    lengths = ends - starts
    nonblank = np.flatnonzero(lengths > 0)
    if len(nonblank) == 0:
        raise MalformedFile(reasons.EMPTY_FILE, "the file holds only blank lines")
    first = nonblank[0]
    header_text = data[starts[first] : ends[first]].decode("utf-8")
    header = _check_header(next(csv.reader([header_text], delimiter=sep)) if quoted else header_text.split(sep))
    body = nonblank[1:]
    # with well-formed lines, the parity of the quotes before a comma says whether it sits inside
    # a quoted field
    separators = outside_quotes(np.flatnonzero(buf == ord(sep)), quote_at)
    fields = per_line(separators, ends)[body] + 1
    good = fields == len(header)
    ragged = [
        RaggedRow(int(i) + 1, data[starts[i] : ends[i]].decode("utf-8"), int(n))
        for i, n in zip(body[~good], fields[~good], strict=True)
    ]
    # blank lines after the header, not counting the empty rest after a final line break
    blank = int(np.count_nonzero(lengths[first + 1 : len(lengths) - 1] == 0))
    if not good.any():
        cells = pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
        return RawTable(header, cells, np.array([], dtype=np.int64), ragged, blank, sep)
    # (from the header's line break: a buffer that starts with a blank line, never with a row, whose
    # leading U+FEFF pyarrow would take for a byte order mark and drop)
    body_bytes = pa.py_buffer(data).slice(int(stops[first]) - 1)
    table = _pyarrow_cells(body_bytes, header, sep, quoted, int(lengths.max()))
    cells = table.to_pandas()
    lines = body[good] + 1
    if len(cells) != len(lines):  # never guess line numbers: the exact path decides
        return None
    row_starts = starts[body[good]].astype(np.int32 if len(data) < 2**31 else np.int64)
    return RawTable(header, _as_str(cells, header), lines.astype(np.int64), ragged, blank, sep, data, starts=row_starts)


def _pyarrow_cells(data: pa.Buffer, header: list[str], sep: str, quoted: bool, longest: int) -> pa.Table:
    """Well-formed lines of fields (no header) as a table of strings, by pyarrow's reader."""
    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(
            column_names=header,
            # a block must hold a whole row: a row longer than 1 MiB (a huge field) needs bigger blocks
            block_size=max(_DEFAULT_BLOCK, 2 * longest + 2),
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep,
            quote_char='"' if quoted else False,
            newlines_in_values=False,
            invalid_row_handler=lambda _row: "skip",
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _reread(data: bytes, lines: np.ndarray, header: list[str], sep: str, starts: np.ndarray | None) -> pd.DataFrame:
    """The cells of these physical lines (1-based; starting at `starts` when known) of a file the
    fast reader read, read again the same way: the lines' bytes joined, then pyarrow's reader with
    the same options."""
    if not len(lines):
        return pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    if starts is None:
        every_start, every_end, _ = line_bounds(np.frombuffer(data, dtype=np.uint8))
        chosen = lines.astype(np.int64) - 1
        begins, ends = every_start[chosen], every_end[chosen]
    else:  # (a line the fast reader read holds no line break: it ends at the first one)
        begins = starts.astype(np.int64)
        ends = np.array([line_end(data, int(b)) for b in begins], dtype=np.int64)
    text = b"\n" + b"\n".join(data[a:b] for a, b in zip(begins, ends, strict=True)) + b"\n"  # (as in _read_fast)
    table = _pyarrow_cells(pa.py_buffer(text), header, sep, b'"' in text, int((ends - begins).max()))
    if table.num_rows != len(lines):
        raise RuntimeError(f"{len(lines)} rows read again gave {table.num_rows}: the file changed since it was read")
    return _as_str(table.to_pandas(), header)


def _read_with_csv_module(text: str, sep: str) -> RawTable:
    physical = io.StringIO(text, newline="").readlines()  # split at LF, CRLF and lone CR
    reader = csv.reader(iter(physical), strict=True, delimiter=sep)
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[RaggedRow] = []
    blank = 0
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if not record:
                blank += 1 if header is not None else 0
            elif header is None:
                header = _check_header(record)
            elif len(record) != len(header):
                raw = "".join(physical[start - 1 : reader.line_num]).rstrip("\r\n")
                ragged.append(RaggedRow(start, raw, len(record)))
            else:
                rows.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedFile(reasons.UNPARSABLE_CSV, f"CSV syntax error near line {reader.line_num}: {exc}") from None
    if header is None:
        raise MalformedFile(reasons.EMPTY_FILE, "the file holds no header row")
    cells = pd.DataFrame(rows, columns=header, dtype="str") if rows else pd.DataFrame(columns=header, dtype="str")
    return RawTable(header, _as_str(cells, header), np.asarray(lines, dtype=np.int64), ragged, blank, sep)


def _as_str(cells: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    cells.columns = header
    return cells.astype("str").reset_index(drop=True)
