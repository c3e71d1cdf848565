"""Where each curated key may live: for orders, items and products, a multimap from the key's
64-bit hash (ecompipe.core.cells) to the locations (order date and fine bucket) that may hold it.

It is stored as runs, each a sorted Arrow file of (hash, location) pairs under
`indexes/cells/<kind>/`. A rebuild adds one run per kind with every location it is about to write,
before it writes them, so a run killed after its first write still finds every key it moved. A
location is a candidate, never a fact: whoever needs the key reads the cell (CuratedStore.locate),
so a stale entry (a key that moved on, an item dropped) costs a read, never a wrong row, and a
hash shared by two keys costs the same. Runs are merged under the commit lease (`compact`) so
that their count stays logarithmic in the keys stored (ecompipe.core.cells.tail_to_merge).

A lookup reads every run: 12 bytes a stored key (2M items: ~24 MB), no strings, and a probe per
run by binary search, so the batch's keys cost what they are, whatever else is stored."""

from __future__ import annotations

import io
import threading
import time
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from ecompipe.aws.objects import Bucket, ObjectInfo, side_by_side
from ecompipe.core import layout
from ecompipe.core.errors import ObjectMissing

_READ_TRIES = 3  # a run merged and deleted between the LIST and its GET: list again
_CACHE_BYTES = 512 * 2**20  # runs kept in memory by a process (a run never changes: keyed by its ETag)
_cache: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
_cache_lock = threading.Lock()


class KeyIndex:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def add(self, kind: str, hashes: np.ndarray, locations: np.ndarray) -> str | None:
        """One run with these pairs (deduplicated); its key (None when there are none)."""
        pairs = _pairs(np.asarray(hashes, dtype=np.uint64), np.asarray(locations, dtype=np.int32))
        if not len(pairs[0]):
            return None
        key = layout.key_index_run_key(kind, f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}")
        self._put(key, pairs)  # (kept in the cache: the merge under the commit lease reads it back)
        return key

    def listing(self) -> dict[str, list[ObjectInfo]]:
        """Every run by kind, oldest first (one LIST for all kinds)."""
        runs: dict[str, list[ObjectInfo]] = {}
        for info in self.bucket.list(layout.KEY_INDEX_RUNS):
            runs.setdefault(info.key.removeprefix(layout.KEY_INDEX_RUNS).split("/")[0], []).append(info)
        return runs

    def lookup(self, kind: str, hashes: np.ndarray, listed: dict[str, list[ObjectInfo]] | None = None) -> pd.DataFrame:
        """Every (position in `hashes`, location) the index holds for them (columns `at`,
        `location`), each pair once. `listed`: the runs as `listing` gave them a moment ago."""
        query = np.asarray(hashes, dtype=np.uint64)
        for attempt in range(_READ_TRIES):
            try:
                infos = (listed if listed is not None and attempt == 0 else self.listing()).get(kind, [])
                runs = side_by_side(self._cached, infos) if len(query) else []
                break
            except ObjectMissing:
                if attempt == _READ_TRIES - 1:
                    raise
        if not runs:
            return pd.DataFrame({"at": np.zeros(0, np.int64), "location": np.zeros(0, np.int32)})
        order = np.argsort(query, kind="stable")
        ordered = query[order]
        found = [_probe(ordered, run_hashes, run_locations) for run_hashes, run_locations in runs]
        frame = pd.DataFrame(
            {"at": order[np.concatenate([f[0] for f in found])], "location": np.concatenate([f[1] for f in found])}
        )
        return frame.drop_duplicates(ignore_index=True)

    def compact(self) -> int:
        """Merge each kind's newest runs (tail_to_merge, two at a time: a lookup reads every run,
        so they are kept fewer than parts); how many runs were merged away. Under the commit
        lease (one compaction at a time); runs added meanwhile are newer than those it lists and
        stay as they are."""
        from ecompipe.core.cells import tail_to_merge

        gone = 0
        for kind, runs in self.listing().items():
            taken = tail_to_merge([r.size for r in runs])
            if taken < 2:
                continue
            merged = runs[-taken:]
            pairs = [self._cached(r) for r in merged]
            hashes = np.concatenate([p[0] for p in pairs])
            locations = np.concatenate([p[1] for p in pairs])
            # (after every run it merges, before any added later: the newest one's time, a name of its own)
            name = layout.file_name(merged[-1].key).split("-")[0] + f"-{uuid.uuid4().hex[:8]}m"
            self._put(layout.key_index_run_key(kind, name), _pairs(hashes, locations))
            self.bucket.delete_keys([r.key for r in merged])
            gone += taken - 1
        return gone

    def clear(self) -> None:
        self.bucket.delete_prefix(layout.KEY_INDEX_RUNS)

    def _cached(self, run: ObjectInfo) -> tuple[np.ndarray, np.ndarray]:
        """A run's pairs, read once per process (the same key and ETag hold the same pairs)."""
        with _cache_lock:
            found = _cache.get((self.bucket.name, run.key, run.etag))
        if found is None:
            found = self._get(run.key)
            self._remember(run.key, run.etag, found)
        return found

    def _remember(self, key: str, etag: str, pairs: tuple[np.ndarray, np.ndarray]) -> None:
        with _cache_lock:
            _cache[(self.bucket.name, key, etag)] = pairs
            while sum(h.nbytes + loc.nbytes for h, loc in _cache.values()) > _CACHE_BYTES and len(_cache) > 1:
                del _cache[next(iter(_cache))]  # the oldest first

    def _put(self, key: str, pairs: tuple[np.ndarray, np.ndarray]) -> None:
        sink = io.BytesIO()
        table = pa.table({"hash": pairs[0], "location": pairs[1]})
        feather.write_feather(table, sink, compression="zstd", chunksize=max(table.num_rows, 1))
        self._remember(key, self.bucket.put_bytes(key, sink.getvalue(), "application/vnd.apache.arrow.file"), pairs)

    def _get(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        table = feather.read_table(io.BytesIO(self.bucket.get_bytes(key)))
        return (
            table.column("hash").to_numpy().astype(np.uint64, copy=False),
            table.column("location").to_numpy().astype(np.int32, copy=False),
        )


def _pairs(hashes: np.ndarray, locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs sorted by hash, then location, each once. A stable sort by hash (runs merged are
    sorted already, which it finds: about 15x cheaper than sorting by both columns), then by
    location only where a hash has more than one pair (a few keys: those that moved)."""
    order = np.argsort(hashes, kind="stable")
    h, loc = hashes[order], locations[order]
    repeated = np.zeros(len(h), dtype=bool)
    repeated[1:] = h[1:] == h[:-1]
    repeated[:-1] |= repeated[1:]
    at = np.flatnonzero(repeated)
    if len(at):  # (h[at] is sorted: sorting by (hash, location) moves locations within a hash only)
        loc[at] = loc[at][np.lexsort((loc[at], h[at]))]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (loc[1:] != loc[:-1])
    return h[keep], loc[keep]


def _probe(query: np.ndarray, run_hashes: np.ndarray, run_locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in `query` (sorted ascending), locations) of every run pair whose hash is
    queried. One binary search per queried hash (a sorted query walks the run in order: about 5×
    cheaper than an unsorted one), a second only for the hashes found."""
    left = np.searchsorted(run_hashes, query, side="left")
    inside = left < len(run_hashes)
    hit = np.flatnonzero(inside)
    hit = hit[run_hashes[left[hit]] == query[hit]]
    if not len(hit):
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    counts = np.searchsorted(run_hashes, query[hit], side="right") - left[hit]
    at = np.repeat(hit, counts)
    starts = np.repeat(left[hit], counts)
    offsets = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
    return at.astype(np.int64), run_locations[starts + offsets]
