"""Issue 39: files given by path are read when they are parsed and let go after, the few rows a
report shows read again from the file (validator.model.InputFile.path, RawTable.reopen): a batch
holds one file's bytes at a time, not every file's. The outcome is the one of the same bytes held
in memory, on the bad-input corpus (gzipped, UTF-16 and malformed files among them), generated
data with every kind of bad row, and a batch large enough to be parsed in threads and spilled by
shard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from ecompipe.local.generate import Spec, generate
from tests.functional.test_reference_path import INPUTS, NOW
from validator.batch import InputFile, Known, validate_batch
from validator.files import files_parsed

pytestmark = pytest.mark.functional

SETS = {
    **{name: INPUTS[name] for name in ("corpus", "generated_thelook", "sample_seed")},
    "threaded": generate(Spec(order_items=40_000, dialect="seed", days=9, files=3, bad_rate=0.05)),
}


def _written(directory: Path, files: dict[str, bytes]) -> list[InputFile]:
    directory.mkdir()
    out = []
    for name, data in files.items():
        (directory / name).write_bytes(data)
        out.append(InputFile(f"incoming/{name}", None, len(data), path=directory / name))
    return out


@pytest.mark.parametrize("name", sorted(SETS))
def test_a_batch_read_from_its_files_equals_the_same_bytes_held(tmp_path: Path, name: str) -> None:
    shard_rows = 10_000 if name == "threaded" else 1 << 20  # (the large one in shards, spilled)
    held = [InputFile(f"incoming/{n}", data) for n, data in SETS[name].items()]
    read = _written(tmp_path / "in", SETS[name])
    a = validate_batch("b", held, Known(), None, now=NOW, shard_rows=shard_rows)
    b = validate_batch("b", read, Known(), None, now=NOW, shard_rows=shard_rows)

    assert a.report == b.report and a.report["totals"]["rows_read"] > 0
    if name == "threaded":
        assert a.report["totals"]["rejected"] > 0
    for kind in a.staged:
        assert_frame_equal(a.staged[kind], b.staged[kind])
    assert a.rejected_rows.keys() == b.rejected_rows.keys()
    for file_name, rows in a.rejected_rows.items():
        assert_frame_equal(rows, b.rejected_rows[file_name])
    assert {k: m.message for k, m in a.malformed.items()} == {k: m.message for k, m in b.malformed.items()}
    assert_frame_equal(a.held, b.held)


def test_a_parsed_file_holds_neither_its_cells_nor_its_bytes(tmp_path: Path) -> None:
    read = _written(tmp_path / "in", SETS["threaded"])
    for p in files_parsed(read, exact=False):
        assert p.raw is not None and p.raw.cells is None and p.raw.source is None
        assert len(p.raw.rows(np.asarray([0, len(p.raw.lines) - 1]))) == 2  # (read again from the file)


def test_a_file_changed_after_it_was_parsed_is_named_not_misread(tmp_path: Path) -> None:
    [f] = _written(tmp_path / "in", {"orders_part1.csv": SETS["sample_seed"]["orders_part1.csv"]})
    [p] = files_parsed([f], exact=False)
    assert f.path is not None and p.raw is not None
    f.path.write_bytes(f.path.read_bytes() + b"O9,U9,2025-06-01,delivered,1.00\n")
    with pytest.raises(RuntimeError, match=r"orders_part1\.csv changed since it was parsed"):
        p.raw.rows(np.asarray([0]))
