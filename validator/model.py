"""What the validator's core works on: the files of a batch, the keys already known, each file as
it goes through validation, and the outcome. Shared by validator.batch and validator.report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecompipe.core import layout
from ecompipe.core.keys import isin
from validator.dialects import CANONICAL_COLUMNS, ORDER_ITEMS, Dialect, empty_errors
from validator.reading import MalformedFile, RawTable
from validator.spill import Piece

# a file's held rows (ParsedFile.pending), from the batch's held items: column -> held item column
PENDING_OF_FILE = {"row": "_row", "reason": "reason", "order_id": "order_id", "product_id": "product_id"}

PENDING_COLUMNS = [
    *CANONICAL_COLUMNS[ORDER_ITEMS],
    "source_file",
    "source_line",
    "reason",
    "first_batch_id",
    "first_seen_at",
]


@dataclass(frozen=True)
class InputFile:
    """One file of the batch: its bytes (`data`), or where to read them when it is parsed (`path`,
    of `size` bytes: read then, and again for the few rows a report shows, so a batch holds one
    file's bytes at a time); neither for a file that was not read (too large), whose `size` says
    why. A compressed file (.csv.gz) may expand to `max_bytes` (0: no limit)."""

    key: str
    data: bytes | None
    size: int = 0
    max_bytes: int = 0
    path: Path | None = None

    @property
    def name(self) -> str:
        return layout.file_name(self.key)

    @property
    def unread(self) -> bool:
        """Whether the file is not to be read (too large)."""
        return self.data is None and self.path is None

    @property
    def length(self) -> int:
        """How many bytes parsing it reads (0 for a file not read)."""
        return len(self.data) if self.data is not None else self.size if self.path is not None else 0

    def read(self) -> bytes:
        """The file's bytes (read from `path` each time when they are not held)."""
        if self.data is not None:
            return self.data
        assert self.path is not None, "an unread file has no bytes"
        return self.path.read_bytes()

    def newlines(self) -> int:
        """How many line feeds the file holds, read in blocks when it is not held."""
        if self.data is not None or self.path is None:
            return (self.data or b"").count(b"\n")
        count = 0
        with self.path.open("rb") as fh:
            while block := fh.read(_BLOCK):
                count += block.count(b"\n")
        return count


_BLOCK = 16 << 20  # InputFile.newlines reads a file not held in blocks of this many bytes


@dataclass
class Known:
    """Keys already in the curated store: the product ids, and the order ids — given, or found
    when asked (`find_orders`: which of these ids are stored; CuratedStore.known_orders), so a
    batch looks up the orders it refers to, not every order ever stored."""

    order_ids: pd.Index = field(default_factory=lambda: pd.Index([], dtype="str"))
    product_ids: pd.Index = field(default_factory=lambda: pd.Index([], dtype="str"))
    find_orders: Callable[[pd.Index], pd.Index] | None = None

    def orders_among(self, ids: pd.Index) -> pd.Index:
        """The ids among `ids` that are stored."""
        if self.find_orders is not None:
            return self.find_orders(ids) if len(ids) else pd.Index([], dtype="str")
        return ids[isin(pd.Series(ids, dtype="str"), self.order_ids).to_numpy()]


@dataclass
class ParsedFile:
    """One input file as it goes through validation."""

    key: str
    name: str
    kind: str | None = None
    dialect: Dialect | None = None
    raw: RawTable | None = None
    # canonical rows, same positions as raw.lines; left empty (its columns kept) once the
    # batch-wide checks have taken them
    frame: pd.DataFrame | None = None
    errors: pd.DataFrame = field(default_factory=empty_errors)  # row, column, value, reason
    pending: pd.DataFrame | None = None  # rows held for references: PENDING_OF_FILE
    malformed: MalformedFile | None = None
    # its orders or items on disk by shard already (a fanned-out run's part: validator.parts), when
    # `frame` holds no rows, only its columns
    spilled: Piece | None = None
    shards: int = 0  # the shard count a part's orders or items were split into (0: not a part of them)

    def parsed_rows(self) -> np.ndarray:
        """The positions of its rows that parsed (in `frame`)."""
        assert self.frame is not None
        return np.flatnonzero(~self.frame.index.isin(self.errors["row"]))

    @property
    def rows_read(self) -> int:
        return 0 if self.raw is None else len(self.raw.lines) + len(self.raw.ragged)


@dataclass
class BatchValidation:
    # the batch's own accepted rows, by kind (the file column a category); none when report_only
    staged: dict[str, pd.DataFrame]
    resolved: pd.DataFrame  # items held by earlier batches that this one resolves (committed with it)
    held: pd.DataFrame  # the batch's own items held for an unknown order or product, with their reason
    rejected_rows: dict[str, pd.DataFrame]
    malformed: dict[str, MalformedFile]
    pending: pd.DataFrame
    expired: pd.DataFrame
    report: dict
    waits_for: dict[str, list[str]] = field(default_factory=dict)  # the unknown ids the held items need
