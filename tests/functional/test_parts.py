"""A fanned-out batch's parts (validator/parts.py): each file parsed by its own parse-file task,
stored in S3 (in-process moto), read back by the batch-wide validate step. Whoever parsed a file,
the batch's outcome is the same; a part that is missing, stale or broken is never used."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from ecompipe.aws.objects import ObjectInfo
from ecompipe.core import fan_layout, layout
from ecompipe.local.generate import Spec, generate
from tests.conftest import NOW
from tests.support.corpus import BASE, CASES
from tests.support.helpers import put_files, record_manifest
from validator import outcome, parts, shards
from validator import task as validate_task
from validator.batch import InputFile, Known, validate_batch, validate_shard
from validator.files import parse_file

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> dict[str, bytes]:
    files: dict[str, bytes] = dict(BASE)
    for case in CASES:
        for name, data in case.files.items():
            stem, dot, ext = name.partition(".")
            renamed = f"products_{case.id}{dot}{ext}" if stem.startswith("products") else f"{stem}_{case.id}{dot}{ext}"
            files[renamed] = data
    return files


SETS = {
    "sample": {p.name: p.read_bytes() for p in sorted((ROOT / "sample_data" / "seed").glob("*.csv"))},
    "generated": generate(Spec(order_items=3_000, dialect="thelook", days=10, files=3, bad_rate=0.15, seed=11)),
    "corpus": _corpus(),
}


def _assert_same(a, b) -> None:  # two BatchValidation outcomes
    assert a.report == b.report
    for kind in a.staged:
        assert_frame_equal(a.staged[kind], b.staged[kind])
    assert_frame_equal(a.held, b.held)
    assert_frame_equal(a.resolved, b.resolved)
    assert a.rejected_rows.keys() == b.rejected_rows.keys()
    for name, rows in a.rejected_rows.items():
        assert_frame_equal(rows, b.rejected_rows[name])
    assert {k: (m.reason, m.message) for k, m in a.malformed.items()} == {
        k: (m.reason, m.message) for k, m in b.malformed.items()
    }
    assert_frame_equal(a.pending, b.pending)


@pytest.mark.parametrize("name", sorted(SETS))
def test_a_batch_validated_from_stored_parts_equals_one_validated_whole(resources, name: str) -> None:
    files = [InputFile(f"incoming/{n}", data) for n, data in SETS[name].items()]
    whole = validate_batch("b", files, Known(), None, now=NOW)

    unread = [InputFile(f.key, None) for f in files]
    for count in (1, 4) if name == "sample" else (4,):  # the parts' orders and items split into this many shards
        for f in files:
            parts.write(resources.bucket, "b", parse_file(f), f"etag-{f.name}", count)
        with tempfile.TemporaryDirectory() as directory:
            infos = [ObjectInfo(f.key, 0, f"etag-{f.name}") for f in files]
            stored = parts.read_all(resources.bucket, "b", infos, directory)
            assert sorted(stored) == sorted(f.key for f in files)
            from_parts = validate_batch("b", unread, Known(), None, now=NOW, parsed_before=stored)
        _assert_same(from_parts, whole)
    assert whole.report["totals"]["rows_read"] > 0


def test_parts_of_another_shard_count_than_the_first_are_parsed_again(resources, tmp_path) -> None:
    """A batch has one shard count: a part split otherwise (an attempt under other settings) is
    left out, and the outcome is the same."""
    files = [InputFile(f"incoming/{n}", data) for n, data in SETS["sample"].items()]
    whole = validate_batch("b", files, Known(), None, now=NOW)
    for i, f in enumerate(files):
        parts.write(resources.bucket, "b", parse_file(f), f"etag-{f.name}", 2 if i % 3 else 4)
    infos = [ObjectInfo(f.key, 0, f"etag-{f.name}") for f in files]
    stored = parts.read_all(resources.bucket, "b", infos, str(tmp_path))
    counts = {len(p.spilled.sizes) for p in stored.values() if p.spilled is not None}
    assert counts == {4}  # (the first file's)
    from_parts = validate_batch("b", files, Known(), None, now=NOW, parsed_before=stored)
    _assert_same(from_parts, whole)


def test_a_part_of_another_file_version_or_half_written_is_not_used(resources, tmp_path) -> None:
    bucket = resources.bucket
    f = InputFile("incoming/orders_a.csv", SETS["sample"]["orders_part1.csv"])
    parts.write(bucket, "b", parse_file(f), "v1", 2)
    d = str(tmp_path)
    assert parts.read(bucket, "b", ObjectInfo(f.key, 0, "v1"), d) is not None
    assert parts.read(bucket, "b", ObjectInfo(f.key, 0, "v2"), d) is None  # the file changed since
    assert parts.read(bucket, "c", ObjectInfo(f.key, 0, "v1"), d) is None  # another batch's

    for what, shard in (("errors", None), ("raw", None), ("canonical", 1)):  # a task that died mid-way
        key = fan_layout.part_key("b", f.name, what, shard)
        kept = bucket.get_bytes(key)
        bucket.delete(key)
        assert parts.read(bucket, "b", ObjectInfo(f.key, 0, "v1"), d) is None
        bucket.put_bytes(key, b"not arrow")
        assert parts.read(bucket, "b", ObjectInfo(f.key, 0, "v1"), d) is None
        bucket.put_bytes(key, kept)
    assert parts.read(bucket, "b", ObjectInfo(f.key, 0, "v1"), d) is not None


def test_the_validate_task_uses_the_parts_the_parse_file_tasks_left(resources) -> None:
    """parse-file for some files (one of them malformed, one too large to read), then validate:
    the report and the staged rows equal those of the same batch validated without parts."""
    settings = resources.settings
    files = {**SETS["sample"], "orders_broken.csv": b"order_id,\xff not utf-8", "orders_huge.csv": b"x" * (2**20 + 1)}
    keys = put_files(resources, files)
    manifest = record_manifest(resources.bucket, keys)
    huge = {"file": "incoming/orders_huge.csv", "part": False}
    small = settings.__class__(bucket=settings.bucket, max_file_mb=1)
    done = [validate_task.parse_one(small, resources.bucket, manifest.batch_id, k) for k in keys[::2]]
    assert all(d["part"] for d in done if d["file"] != huge["file"])
    assert all(not d["part"] for d in done if d["file"] == huge["file"])
    with_parts = validate_task.run(small, resources.bucket, manifest.batch_id, NOW)

    for k in keys:  # the same batch again, every file read by validate itself
        resources.bucket.delete(fan_layout.part_key(manifest.batch_id, layout.file_name(k), "rows"))
    without = validate_task.run(small, resources.bucket, manifest.batch_id, NOW)
    tasks = sorted(k for k in keys[::2] if k != huge["file"])
    here = sorted(k for k in keys if k not in tasks and k != huge["file"])  # the huge one is never read
    assert with_parts.pop("fan_out") == {"parsed_by_tasks": tasks, "parsed_here": here, "validated_in_shards": None}
    assert "fan_out" not in without
    for report in (with_parts, without):
        report.pop("generated_at")
        report.pop("attempts", None)
    assert with_parts == without
    rejected = {f["file"]: f["error"]["reason"] for f in with_parts["files"] if f["status"] == "rejected"}
    assert rejected == {"incoming/orders_broken.csv": "undecodable_bytes", "incoming/orders_huge.csv": "file_too_large"}
    # the malformed file was never read by validate: its copy under rejected/ is the file itself
    copy = layout.rejected_file_key(manifest.batch_id, "orders_broken.csv")
    assert resources.bucket.get_bytes(copy) == files["orders_broken.csv"]


def test_parse_file_refuses_a_file_that_is_not_in_the_batch(resources) -> None:
    keys = put_files(resources, {"orders_a.csv": SETS["sample"]["orders_part1.csv"]})
    manifest = record_manifest(resources.bucket, keys)
    with pytest.raises(Exception, match="not a file of batch"):
        validate_task.parse_one(resources.settings, resources.bucket, manifest.batch_id, "incoming/orders_b.csv")


def _shard_by_shard(bucket, path, files, known, pending_before, count):
    """Each shard validated on its own from the parts (as validate-shard tasks do), their takings
    merged (as the validate task then does)."""
    for f in files:
        parts.write(bucket, "b", parse_file(f), f"etag-{f.name}", count)
    infos = [ObjectInfo(f.key, 0, f"etag-{f.name}") for f in files]
    unread = [InputFile(f.key, None) for f in files]
    taken = []
    for s in range(count):
        stored = parts.read_all(bucket, "b", infos, str(path), s)
        mine = shards.rows_of_shard(pending_before, s, count)
        taken.append(validate_shard(unread, stored, known, mine, today=NOW.date().isoformat(), first=s == 0))
    without_rows = parts.read_all(bucket, "b", infos, str(path), parts.NO_ROWS)
    kept = {"max_pending_age_days": 7, "examples": 20}
    return outcome.merged("b", unread, without_rows, taken, pending_before, now=NOW, **kept)


@pytest.mark.parametrize("name", ["sample", "corpus"])  # (generated bad rows: below, with a pending set)
def test_a_batch_validated_shard_by_shard_and_merged_equals_one_validated_whole(resources, tmp_path, name) -> None:
    files = [InputFile(f"incoming/{n}", d) for n, d in SETS[name].items()]
    whole = validate_batch("b", files, Known(), None, now=NOW)
    _assert_same(_shard_by_shard(resources.bucket, tmp_path, files, Known(), None, 4 if name == "sample" else 2), whole)


def test_shards_validated_on_their_own_resolve_a_pending_set_against_known_keys(resources, tmp_path) -> None:
    """Items first (held: their orders come later), then the orders with that pending set, some
    order and product ids already known: what resolves, stays held or is superseded is the same
    when each shard is validated on its own."""
    data = generate(Spec(order_items=2_000, days=5, files=2, bad_rate=0.1, seed=8))
    items_first = {n: d for n, d in data.items() if "item" in n}
    first = validate_batch("a", [InputFile(f"incoming/{n}", d) for n, d in items_first.items()], Known(), None, now=NOW)
    assert len(first.pending)
    ids = first.pending["order_id"].dropna().drop_duplicates()
    known = Known(order_ids=pd.Index(ids.iloc[::5]), product_ids=pd.Index(first.pending["product_id"].iloc[::3]))
    rest = {n: d for n, d in data.items() if "item" not in n} | dict(list(items_first.items())[:1])
    files = [InputFile(f"incoming/{n}", d) for n, d in rest.items()]
    whole = validate_batch("b", files, known, first.pending, now=NOW)
    assert whole.report["pending"]["resolved"] + whole.report["pending"]["superseded"] > 0
    merged = _shard_by_shard(resources.bucket, tmp_path, files, known, first.pending, 4)
    _assert_same(merged, whole)
    assert merged.waits_for == whole.waits_for
    assert_frame_equal(merged.expired, whole.expired)
