"""A batch task's process keeps the memory it frees, for its next allocation.

glibc's malloc gives every block above 32 MiB (a column of 4M+ rows) its own mapping and returns it
to the system when freed, so the next such block is fresh memory the kernel must zero page by page
on first touch. On the machines measured (Firecracker VMs, as Fargate's tasks are), first touch
cost more than the work: at 10M order items validation's batch-wide step spent 17 s of its 28 s
in the kernel (docs/benchmarks-history.md, "Memory the tasks free, kept"). A task is one process doing one batch
and exiting, so it keeps what it frees: no mappings of their own for large blocks, no trimming of
the heap below 2 GiB free, one arena (the tasks' threads move data, the GIL serialises the rest).

An environment that sets malloc itself (set_by_environment) is left as it is; so is a C library
other than glibc.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping

# mallopt(3) parameters and the values a task runs with
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX, M_ARENA_MAX = -1, -2, -4, -8
TASK_MALLOC = {
    M_MMAP_MAX: 0,  # large blocks come from the heap and go back to it
    M_TRIM_THRESHOLD: 2**31 - 1,  # the heap's free top is kept up to 2 GiB (mallopt takes an int)
    M_TOP_PAD: 256 << 20,  # the heap grows 256 MiB at a time (address space: untouched, it costs nothing)
    M_ARENA_MAX: 1,  # threads share the main heap, so what one frees another reuses
}


def set_by_environment(environ: Mapping[str, str]) -> bool:
    """Whether the environment sets malloc itself (any MALLOC_* variable or GLIBC_TUNABLES, read by
    glibc at start): a setting of the deployment's own decides."""
    return any(name.startswith("MALLOC_") or name == "GLIBC_TUNABLES" for name in environ)


def keep_freed_memory() -> bool:
    """Make this process's malloc keep what it frees (TASK_MALLOC). Returns whether it did: not
    when the environment sets malloc itself, nor without glibc's mallopt. Calling it again is
    harmless."""
    if set_by_environment(os.environ):
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    # each one is set whatever the others did
    applied = [mallopt(parameter, value) == 1 for parameter, value in TASK_MALLOC.items()]
    return all(applied)


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's mallopt, or None: looked up among the symbols the process has loaded already (its C
    library among them), with no search of the system's libraries."""
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl has a mallopt that does nothing
            return None
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt  # type: ignore[no-any-return]
