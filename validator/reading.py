"""File level: bytes -> header + string cells + the original line number of every row.

Two paths give the same result. The fast one: numpy finds the line boundaries and the field count
of every line (a comma inside quotes is one preceded by an odd number of quotes on its line),
pyarrow parses the cells. It serves every file in which no quoted field spans lines, i.e. every
line holds an even number of quote characters. Other files (a field holding a newline) go through
the csv module, which tracks physical lines exactly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from validator import reasons

BOM = b"\xef\xbb\xbf"
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
    """The cells of one CSV file as strings, with the physical line each row starts on."""

    header: list[str]
    cells: pd.DataFrame
    lines: np.ndarray
    ragged: list[RaggedRow] = field(default_factory=list)
    blank_lines: int = 0


def read_csv(data: bytes) -> RawTable:
    """Parse one CSV file. Raises MalformedFile for problems that spoil the whole file."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if not data.strip():
        raise MalformedFile(reasons.EMPTY_FILE, "the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MalformedFile(
            reasons.UNDECODABLE, f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte {exc.start} (line {line})"
        ) from None
    if "\x00" in text:
        raise MalformedFile(reasons.UNPARSABLE_CSV, "the file contains NUL bytes (binary data?)")
    table = _read_fast(data)
    return table if table is not None else _read_with_csv_module(text)


def _check_header(header: list[str]) -> list[str]:
    names = [h.strip().lower() for h in header]
    if not any(names):
        raise MalformedFile(reasons.EMPTY_FILE, "the header row is empty")
    for sep, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if len(names) == 1 and sep in names[0]:
            raise MalformedFile(
                reasons.WRONG_DELIMITER,
                f"the header is one column holding {label}s ({names[0][:80]!r}): the file looks {label}-separated; "
                "ecompipe reads comma-separated files",
            )
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise MalformedFile(reasons.DUPLICATE_HEADER, f"duplicated column(s) in header: {', '.join(dupes)}")
    if "" in names:
        raise MalformedFile(
            reasons.UNPARSABLE_CSV, f"the header has an unnamed column at position {names.index('') + 1}"
        )
    return names


def _read_fast(data: bytes) -> RawTable | None:
    """None when a quoted field spans lines (then only the csv module gets lines right)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    # strip a trailing \r (CRLF files)
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord("\r"))
    ends = ends - has_cr
    quotes = np.concatenate(([0], np.cumsum(buf == ord('"'))))  # quotes before each position
    quoted = bool(quotes[-1])
    if quoted and ((quotes[ends] - quotes[starts]) % 2).any():
        return None
    lengths = ends - starts
    nonblank = np.flatnonzero(lengths > 0)
    if len(nonblank) == 0:
        raise MalformedFile(reasons.EMPTY_FILE, "the file holds only blank lines")
    first = nonblank[0]
    header_text = data[starts[first] : ends[first]].decode("utf-8")
    header = _check_header(next(csv.reader([header_text])) if quoted else header_text.split(","))
    body = nonblank[1:]
    # with an even number of quotes per line, the parity of the quotes before a comma says
    # whether it sits inside a quoted field
    separators = (buf == ord(",")) & (quotes[:-1] % 2 == 0)
    commas = np.concatenate(([0], np.cumsum(separators)))
    fields = commas[ends[body]] - commas[starts[body]] + 1
    good = fields == len(header)
    ragged = [
        RaggedRow(int(i) + 1, data[starts[i] : ends[i]].decode("utf-8"), int(n))
        for i, n in zip(body[~good], fields[~good], strict=True)
    ]
    blank = int(len(lengths) - len(nonblank) - (1 if lengths[-1] == 0 else 0))
    if not good.any():
        cells = pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
        return RawTable(header, cells, np.array([], dtype=np.int64), ragged, blank)
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            skip_rows=int(first) + 1,
            column_names=header,
            # a block must hold a whole row: a row longer than 1 MiB (a huge field) needs bigger blocks
            block_size=max(_DEFAULT_BLOCK, 2 * int(lengths.max()) + 2),
        ),
        parse_options=pacsv.ParseOptions(
            quote_char='"' if quoted else False,
            newlines_in_values=False,
            invalid_row_handler=lambda _row: "skip",
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header}, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    cells = table.to_pandas()
    lines = body[good] + 1
    if len(cells) != len(lines):  # never guess line numbers: the exact path decides
        return None
    return RawTable(header, _as_str(cells, header), lines.astype(np.int64), ragged, blank)


def _read_with_csv_module(text: str) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[RaggedRow] = []
    blank = 0
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if not record or (len(record) == 1 and record[0] == ""):
                blank += 1 if header is not None else 0
            elif header is None:
                header = _check_header(record)
            elif len(record) != len(header):
                ragged.append(RaggedRow(start, ",".join(record), len(record)))
            else:
                rows.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise MalformedFile(reasons.UNPARSABLE_CSV, f"CSV syntax error near line {reader.line_num}: {exc}") from None
    if header is None:
        raise MalformedFile(reasons.EMPTY_FILE, "the file holds no header row")
    cells = pd.DataFrame(rows, columns=header, dtype="str") if rows else pd.DataFrame(columns=header, dtype="str")
    return RawTable(header, _as_str(cells, header), np.asarray(lines, dtype=np.int64), ragged, blank)


def _as_str(cells: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    cells.columns = header
    return cells.astype("str").reset_index(drop=True)
