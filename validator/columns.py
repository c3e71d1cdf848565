"""The rows of one kind, filtered column by column: a column's
copies go as soon as the new column holds them, so the batch is never held twice at once (a
whole-frame concatenation or mask keeps every input column alive until every output column is
made: at 1M items ~100 MiB more at validation's peak, and this VM's fresh memory is what a
task's time goes to)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def kept(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The frame's rows `keep` (positions, ascending), index 0..n-1; the frame itself when it keeps
    every row. The frame's columns are taken out of it as they are copied."""
    if len(keep) == len(frame):
        return frame.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for name in list(frame.columns):
        out[name] = frame[name].take(keep).reset_index(drop=True)
        del frame[name]
    return pd.DataFrame(out, index=pd.RangeIndex(len(keep)))
