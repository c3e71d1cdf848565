"""Values the tests of one session share across pytest-xdist workers (a reference run of the sample
or the public data costs 10-20 s: it is made once, not once per worker)."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from typing import Any

import pytest


def once_per_session(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, make: Callable[[], Any]
) -> Any:
    """`make()` (JSON-able) made once for the whole session. The workers share the parent of their
    temp dirs; a file lock makes the others wait for the first one's result."""
    if worker_id == "master":  # no xdist
        return make()
    root = tmp_path_factory.getbasetemp().parent
    path = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return json.loads(path.read_text())
        value = make()
        path.write_text(json.dumps(value))
        return value
