"""A task's process keeps the memory it frees (ecompipe.core.memory): a large block allocated again
after it was freed is not fresh memory the kernel has to fault in again. Each case runs in a fresh
interpreter, since malloc's settings are the process's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecompipe.core.memory import _glibc_mallopt, set_by_environment

ROOT = Path(__file__).resolve().parents[2]
glibc_only = pytest.mark.skipif(_glibc_mallopt() is None, reason="mallopt is glibc's")

# a column of 32M int64 values (256 MiB) filled, freed, and filled again three times; the page
# faults of the first round and of the later ones, counted for the thread that fills it (the
# process's count took in whatever DuckDB's threads faulted meanwhile: 69-72 now and then).
# argv[1]: "keep" (keep_freed_memory first), "default" (nothing first), or "validate" (`ecompipe
# validate sample_data/seed` first, in process)
ROUNDS = """
import json, resource, sys
import numpy as np
from ecompipe.core.memory import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
if sys.argv[1] == "validate":
    from click.testing import CliRunner
    from ecompipe.cli import main
    result = CliRunner().invoke(main, ["validate", "sample_data/seed"])
    assert result.exit_code == 0, result.output
def faults():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt  # (this thread: not DuckDB's or any other)
counts = []
for _ in range(4):
    before = faults()
    column = np.ones(32 << 20, dtype=np.int64)
    counts.append(faults() - before)
    del column
print(json.dumps({"kept": kept, "first": counts[0], "later": max(counts[1:])}))
"""


def _rounds(mode: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not set_by_environment({k: v})}
    out = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@glibc_only
def test_a_freed_block_is_reused_without_faulting_it_in_again() -> None:
    kept = _rounds("keep")
    assert kept["kept"] is True
    assert kept["first"] >= 100  # 256 MiB touched: at least one fault per 2 MiB huge page
    assert kept["later"] <= kept["first"] // 20


@glibc_only
def test_without_it_every_large_block_is_fresh_memory() -> None:
    """What the setting changes: malloc's default maps each large block anew."""
    default = _rounds("default")
    assert default["later"] >= default["first"] // 2


@glibc_only
@pytest.mark.parametrize("name", ["MALLOC_ARENA_MAX", "MALLOC_PERTURB_", "GLIBC_TUNABLES"])
def test_a_deployment_that_sets_malloc_itself_decides(name: str) -> None:
    value = {"MALLOC_ARENA_MAX": "4", "MALLOC_PERTURB_": "0"}.get(name, "")
    told = _rounds("keep", **{name: value})
    assert told["kept"] is False
    assert told["later"] >= told["first"] // 2


@glibc_only
def test_a_command_that_does_a_batchs_work_keeps_what_it_frees() -> None:
    rounds = _rounds("validate")
    assert rounds["later"] <= max(rounds["first"] // 20, 5)


@pytest.mark.parametrize("name", ["run", "start", "reprocess", "validate", "task"])
def test_every_command_that_does_a_batchs_work_is_a_batch_process(name: str) -> None:
    """The commands that run a batch's stages in their own process (the others, such as `serve`,
    live on and give memory back)."""
    from ecompipe.cli import main
    from ecompipe.cli.common import batch_process

    kept = batch_process(lambda: None).__code__
    assert getattr(main.get_command(None, name).callback, "__code__", None) is kept
    assert getattr(main.get_command(None, "serve").callback, "__code__", None) is not kept
