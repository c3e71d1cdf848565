"""The batch's rows of one kind as one frame, built and filtered column by column: a column's
copies go as soon as the new column holds them, so the batch is never held twice at once (a
whole-frame concatenation or mask keeps every input column alive until every output column is
made: at 1M items ~100 MiB more at validation's peak, and this VM's fresh memory is what a
task's time goes to)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

from ecompipe.core.arrow import contiguous

T = TypeVar("T", pd.Series, pd.DataFrame)


def stacked(frames: list[pd.DataFrame], rows: list[np.ndarray], position: str) -> pd.DataFrame:
    """The `rows` (positions) of each frame, one after another, with each row's position in its
    own frame as column `position`; every frame's columns are taken out of it as they are copied
    (the frames are left without columns). The frames hold the same columns. A few rows are
    stacked frame by frame, where a column at a time costs more than the copies it saves."""
    names = list(frames[0].columns)
    if sum(len(at) for at in rows) <= _FEW_ROWS:
        whole = joined(
            [frame if len(at) == len(frame) else frame.take(at) for frame, at in zip(frames, rows, strict=True)]
        )
        for frame in frames:
            for name in names:
                del frame[name]
        return contiguous(whole).assign(**{position: _positions(rows)})
    out: dict[str, pd.Series] = {}
    for name in names:
        parts = [
            frame[name] if len(at) == len(frame) else frame[name].take(at)
            for frame, at in zip(frames, rows, strict=True)
        ]
        column = joined(parts)
        del parts
        for frame in frames:
            del frame[name]
        out[name] = contiguous(column.to_frame())[name]
    out[position] = _positions(rows)
    return frame_of(out)


_FEW_ROWS = 1 << 16


def _positions(rows: list[np.ndarray]) -> pd.Series:
    return pd.Series(np.concatenate(rows) if rows else np.zeros(0, np.int64), dtype="int64")


def frame_of(columns: dict[str, pd.Series], rows: int | None = None) -> pd.DataFrame:
    """A frame of these columns, index 0..rows-1 when `rows` is given, not copied: pandas copies a
    dict's columns by default and stacks those of one type into one block (1.2 s for the staged
    items at 10M); under copy-on-write a later change to either side copies then."""
    return pd.DataFrame(columns, index=None if rows is None else pd.RangeIndex(rows), copy=False)


def joined(parts: list[T]) -> T:
    """The parts one after another, index 0..n-1 (one part: itself, not copied)."""
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def kept(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The frame's rows `keep` (positions, ascending), index 0..n-1; the frame itself when it keeps
    every row. The frame's columns are taken out of it as they are copied."""
    if len(keep) == len(frame):
        return frame.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for name in list(frame.columns):
        out[name] = frame[name].take(keep).reset_index(drop=True)
        del frame[name]
    return frame_of(out, len(keep))
