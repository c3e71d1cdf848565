"""A batch's files parsed, each on its own: read, dialect, canonical form and the cells that
failed to parse (validator.batch then checks the batch's rows)."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ecompipe.core import text as text_rule
from validator import compressed, reasons
from validator.dialects import detect, kind_of, to_canonical
from validator.model import InputFile, ParsedFile
from validator.reading import MalformedFile, read_csv

_THREADS_FROM_BYTES = 1 << 20  # a batch parses its files in threads from this many bytes


def parse_file(f: InputFile, exact: bool = False) -> ParsedFile:
    """One file on its own: read, dialect, canonical form and the cells that failed to parse."""
    p = ParsedFile(f.key, f.name, kind=kind_of(f.name))
    if p.kind is None:
        unrecognised = reasons.UNRECOGNISED_FILE
        p.malformed = MalformedFile(unrecognised, f"{f.name}: {reasons.DESCRIPTIONS[unrecognised]}")
        return p
    if f.unread:
        p.malformed = MalformedFile(
            reasons.FILE_TOO_LARGE,
            f"{f.name} is {f.size / 2**20:.1f} MiB: {reasons.DESCRIPTIONS[reasons.FILE_TOO_LARGE]}",
        )
        return p
    try:
        p.raw = read_csv(_expanded(f), exact=exact)
        p.dialect = detect(p.kind, p.raw.header)
    except MalformedFile as exc:
        p.raw, p.malformed = None, exc
        return p
    assert p.raw.cells is not None  # (as read: nothing forgot them yet)
    canonical = to_canonical(p.dialect, p.raw.cells, exact, decimal_comma=p.raw.separator != ",")
    p.frame = canonical.frame
    p.errors = canonical.errors
    return p


def files_parsed(
    files: list[InputFile], exact: bool, then: Callable[[ParsedFile], ParsedFile] = lambda p: p
) -> list[ParsedFile]:
    """Each file parsed, two at a time (Arrow's reader and compute release the GIL); a batch of a
    few small files one after another, where handing them to threads costs more than it saves.
    `then`: what is done with each parsed file right away, in the thread that parsed it."""
    if sum(f.length for f in files) < _THREADS_FROM_BYTES:
        return [then(_parsed_here(f, exact)) for f in files]
    with ThreadPoolExecutor(2) as pool:
        parsed = pool.map(lambda f: then(_parsed_here(f, exact)), files)
        # the row rules (validator.checks, pandera: ~0.2 s of imports in a fresh process, the CLI's
        # or a task's) load while the threads parse, which needs none of them; validator.batch
        # imports them once the files are parsed
        importlib.import_module("validator.checks")
        return list(parsed)


def _parsed_here(f: InputFile, exact: bool) -> ParsedFile:
    """parse_file, its raw cells let go at once (what a report shows is read again by line:
    RawTable.rows), so the batch holds one file's cells at a time, not every file's; and its
    bytes too when they can be read again from the file (InputFile.path)."""
    p = parse_file(f, exact)
    if p.raw is not None and p.raw.source is not None and f.data is None:  # (read from its path)
        p.raw.forget_cells(functools.partial(_utf8_again, f, len(p.raw.source)))
    elif p.raw is not None:
        p.raw.forget_cells()
    return p


def _expanded(f: InputFile) -> bytes:
    """The bytes of the CSV the file holds (a compressed file's expanded)."""
    return compressed.expand(f.name, f.read(), f.max_bytes) if compressed.is_compressed(f.name) else f.read()


def _utf8_again(f: InputFile, length: int) -> bytes:
    """The file read again as read_csv read it (RawTable.source: `length` bytes)."""
    data = text_rule.as_utf8(_expanded(f), checked=True)
    if len(data) != length:
        raise RuntimeError(f"{f.name} changed since it was parsed: {length} bytes then, {len(data)} now")
    return data
