"""A fanned-out batch validated shard by shard (validator/fanned.py): parse-file per file, then a
validate-shard task per shard, then validate merges what the shards took (in-process moto). The
outcome is the one validate gives on its own; a shard missing, taken against another pending set
or from other parts, or a batch whose items have ids of their own, is validated whole."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from ecompipe.aws import parquet, staged, transient
from ecompipe.core import fan_layout, layout
from ecompipe.local.generate import Spec, generate
from tests.conftest import NOW
from tests.support.helpers import put_files, record_manifest
from validator import task as validate_task
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.functional

STAGED = ("orders", "order_items", "products")


@pytest.fixture
def small_shards(monkeypatch) -> None:
    monkeypatch.setattr(fan_layout, "SHARD_ROWS", 600)  # a batch of a few thousand rows in several shards


def _fanned_out(resources, files: dict[str, bytes]):
    bucket, settings = resources.bucket, resources.settings
    manifest = record_manifest(bucket, put_files(resources, files))
    for f in manifest.files:
        assert validate_task.parse_one(settings, bucket, manifest.batch_id, f.key)["part"]
    return manifest


def _outcome(resources, batch_id: str) -> dict:
    report = validate_task.run(resources.settings, resources.bucket, batch_id, NOW)
    fan_out = report.pop("fan_out")
    report.pop("generated_at")
    report.pop("attempts", None)
    frames = {
        k: staged.read(resources.bucket, batch_id, k).sort_values(["source_file", "source_line"], ignore_index=True)
        for k in STAGED
    }
    for name, key in (
        ("held", layout.staged_held_key),
        ("resolved", layout.staged_resolved_key),
        ("pending", layout.staged_pending_key),
    ):
        frames[name] = transient.get_frame(resources.bucket, key(batch_id))
    return {"report": report, "frames": frames, "shards": fan_out["validated_in_shards"]}


def _same(a: dict, b: dict) -> None:
    assert a["report"] == b["report"]
    for name, frame in a["frames"].items():
        assert_frame_equal(frame, b["frames"][name], check_dtype=False)


def _drop_shards(resources, batch_id: str, count: int) -> None:
    for s in range(count):
        resources.bucket.delete(fan_layout.shard_key(batch_id, s, "outcome"))


def test_the_validate_task_merges_what_the_shard_tasks_took(resources, small_shards) -> None:
    files = generate(Spec(order_items=1_500, days=10, files=2, bad_rate=0.1, seed=21))
    manifest = _fanned_out(resources, files)
    count = manifest.shards()
    assert count >= 2
    done = [
        validate_task.validate_shard(resources.settings, resources.bucket, manifest.batch_id, s, NOW)
        for s in range(count)
    ]
    assert all(d["done"] for d in done)
    merged = _outcome(resources, manifest.batch_id)
    assert merged["shards"] == count

    _drop_shards(resources, manifest.batch_id, 1)  # one shard's outcome missing: validated whole
    whole = _outcome(resources, manifest.batch_id)
    assert whole["shards"] is None
    _same(merged, whole)
    assert merged["report"]["totals"]["rejected"] > 0 and merged["report"]["totals"]["pending"] > 0


def test_shards_taken_against_another_pending_set_are_not_merged(resources, small_shards) -> None:
    files = generate(Spec(order_items=1_500, days=5, files=2, bad_rate=0.1, seed=4))
    manifest = _fanned_out(resources, files)
    for s in range(manifest.shards()):
        validate_task.validate_shard(resources.settings, resources.bucket, manifest.batch_id, s, NOW)
    # another batch's commit wrote the pending set since (here: the items of another batch held)
    items = {n: d for n, d in generate(Spec(order_items=300, days=2, files=1, seed=9)).items() if "item" in n}
    held = validate_batch("a", [InputFile(f"incoming/{n}", d) for n, d in items.items()], Known(), None, now=NOW)
    parquet.put_frame(resources.bucket, layout.PENDING_ITEMS_KEY, held.pending)
    assert _outcome(resources, manifest.batch_id)["shards"] is None


def test_items_with_ids_of_their_own_are_validated_whole(resources, small_shards) -> None:
    """thelook's items carry their own id, which an order in another shard may repeat: each shard
    task says so and stores nothing; validate validates the batch whole."""
    files = generate(Spec(order_items=1_500, dialect="thelook", days=5, files=2, bad_rate=0.1, seed=4))
    manifest = _fanned_out(resources, files)
    done = validate_task.validate_shard(resources.settings, resources.bucket, manifest.batch_id, 0, NOW)
    assert not done["done"] and "ids of their own" in done["why"]
    assert _outcome(resources, manifest.batch_id)["shards"] is None


def test_a_shard_task_without_every_part_stores_nothing(resources, small_shards) -> None:
    files = generate(Spec(order_items=1_500, days=5, files=2, bad_rate=0.1, seed=4))
    manifest = _fanned_out(resources, files)
    gone = manifest.files[0]
    resources.bucket.delete(fan_layout.part_key(manifest.batch_id, layout.file_name(gone.key), "rows"))
    done = validate_task.validate_shard(resources.settings, resources.bucket, manifest.batch_id, 1, NOW)
    assert not done["done"] and gone.key in done["why"]
    assert not resources.bucket.exists(fan_layout.shard_key(manifest.batch_id, 1, "outcome"))
    beyond = validate_task.validate_shard(resources.settings, resources.bucket, manifest.batch_id, 99, NOW)
    assert not beyond["done"]
