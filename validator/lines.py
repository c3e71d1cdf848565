"""Where a CSV file's lines and fields are, from byte positions alone (a few per line, never
a per-byte count): the fast reader's arithmetic (validator.reading)."""

from __future__ import annotations

import numpy as np


def line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, content ends, next starts) of every line; a line ends at LF, CRLF or a lone CR.
    The last line is what follows the last terminator (empty when the file ends with one).
    Works on byte positions (a few per line), never on per-byte counts."""
    lf = np.flatnonzero(buf == ord("\n"))
    cr = np.flatnonzero(buf == ord("\r"))
    if len(cr):
        lone_cr = cr[~np.isin(cr + 1, lf)]
        last = np.union1d(lf, lone_cr)  # the last byte of each terminator
        crlf = np.isin(last - 1, cr) & (buf[last] == ord("\n"))
        content_end = last - crlf
    else:
        last = content_end = lf
    starts = np.concatenate(([0], last + 1))
    return starts, np.concatenate((content_end, [len(buf)])), np.concatenate((last + 1, [len(buf)]))


def line_end(data: bytes, start: int) -> int:
    """Where the line starting at `start` ends: its first LF or CR, or the end of the data."""
    lf = data.find(b"\n", start)
    end = len(data) if lf < 0 else lf
    cr = data.find(b"\r", start, end)
    return end if cr < 0 else cr


def per_line(positions: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many of the sorted byte `positions` lie in each line (before its content's end): one
    search of the lines' ends, since between a line's end and the next line's start there are
    only its terminator's bytes, which no counted byte is."""
    before = np.searchsorted(positions, ends, side="left")
    return np.diff(before, prepend=0)


def outside_quotes(separators: np.ndarray, quote_at: np.ndarray) -> np.ndarray:
    """The separators outside quoted fields, when every line holds an even number of quotes: a
    separator is inside exactly when an odd number of quotes precede it, i.e. when it lies
    between quote 2k and quote 2k+1 (found by searching the quotes' pairs, not every separator)."""
    if not len(quote_at):
        return separators
    slots = len(separators) + 1
    opened = np.bincount(np.searchsorted(separators, quote_at[0::2], side="left"), minlength=slots)
    closed = np.bincount(np.searchsorted(separators, quote_at[1::2], side="left"), minlength=slots)
    depth = np.cumsum(opened - closed)
    return separators[depth[: len(separators)] == 0]
