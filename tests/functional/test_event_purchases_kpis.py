"""Event purchases reach the KPIs through the batch pipeline once (issue 16, part 2): the consumer
stores them, the landing writes them into incoming/, a batch counts them. The expected KPIs come
from the same orders written as CSV by this test (not by the landing) and run as a batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto import mock_aws

from ecompipe.batch.resources import Resources
from ecompipe.core import event_layout, layout
from ecompipe.core.settings import Settings
from events import kinds, landing
from tests.conftest import MOTO_CONFIG
from tests.support.events import World, make_world, produced_purchases, purchases_as_csv
from tests.support.helpers import kpi_state, one_shot_kpis, put_files, run_batch

pytestmark = pytest.mark.functional


@contextmanager
def _world() -> Iterator[tuple[World, Resources]]:
    with mock_aws(config=MOTO_CONFIG):
        world = make_world(Settings(bucket="ecompipe-landing-test"))
        res = Resources.from_settings(world.settings)
        res.init()
        yield world, res


def _through_events(world: World, res: Resources, purchases: list[dict], extra: list[str] = ()) -> dict:
    """Send, consume, land and run one batch (the landed files and any `extra` incoming keys)."""
    world.send(*purchases)
    world.consume()
    landed = landing.land(world.settings, world.dynamodb, world.bucket)
    assert not landed.missing
    return run_batch(res, [*landed.files, *extra]).report


def test_event_purchases_give_the_kpis_of_the_same_orders_sentpurchases_as_csv(aws_env: None) -> None:
    purchases = produced_purchases(30)
    csv_batch = purchases_as_csv(purchases)
    expected = one_shot_kpis(csv_batch)
    with _world() as (world, res):
        products = put_files(res, {"products.csv": csv_batch["products.csv"]})
        report = _through_events(world, res, purchases + purchases, products)  # each sent twice
        assert kpi_state(res) == expected
        orders = [f for f in report["files"] if f["kind"] == "orders"]
        assert [(f["dialect"], f["accepted"], f["rejected"]) for f in orders] == [("seed", len(purchases), 0)]
        assert world.bucket.list(event_layout.LANDING) == []  # the markers are gone with the landing
        assert landing.land(world.settings, world.dynamodb, world.bucket).purchases == 0

        # the same orders as CSV afterwards: newest batch wins by key, nothing counted twice
        run_batch(res, put_files(res, {k: v for k, v in csv_batch.items() if k != "products.csv"}))
        assert kpi_state(res) == expected


def test_the_same_orders_both_ways_in_one_batch_are_counted_once(aws_env: None) -> None:
    purchases = produced_purchases(20)
    csv_batch = purchases_as_csv(purchases)
    expected = one_shot_kpis(csv_batch)
    with _world() as (world, res):
        report = _through_events(world, res, purchases, put_files(res, csv_batch))
        assert kpi_state(res) == expected
        orders = {layout.file_name(f["file"]): f for f in report["files"] if f["kind"] == "orders"}
        # one copy of each order is kept, the other is reported as a duplicate key
        assert sum(f["accepted"] for f in orders.values()) == len(purchases)
        assert sum(f["reasons"].get("duplicate_key", 0) for f in orders.values()) == len(purchases)


def test_a_later_status_event_changes_the_kpis_of_its_date(aws_env: None) -> None:
    purchases = produced_purchases(15)
    returned = {**purchases[0], "status": "returned", "version": 2}
    later = [returned, *purchases[1:]]
    expected_before, expected_after = one_shot_kpis(purchases_as_csv(purchases)), one_shot_kpis(purchases_as_csv(later))
    assert expected_before != expected_after
    with _world() as (world, res):
        products = put_files(res, {"products.csv": purchases_as_csv(purchases)["products.csv"]})
        _through_events(world, res, [{**purchases[0], "version": 1}, *purchases[1:]], products)
        assert kpi_state(res) == expected_before
        _through_events(world, res, [returned])
        assert kpi_state(res) == expected_after
        # an older status arriving late changes nothing
        world.send({**purchases[0], "version": 1, "status": "shipped", "note": "late"})
        world.consume()
        assert landing.land(world.settings, world.dynamodb, world.bucket).purchases == 0


def test_status_patches_change_the_kpis_as_whole_updates_do(aws_env: None) -> None:
    """`{"purchase_id": ..., "status": "returned"}` (a patch) reaches the KPIs of its date as the
    whole purchase sent again with that status would; a patch for a purchase not stored yet waits."""
    purchases = produced_purchases(15)
    later = [{**purchases[0], "status": "returned"}, {**purchases[1], "status": "cancelled"}, *purchases[2:]]
    expected_before, expected_after = one_shot_kpis(purchases_as_csv(purchases)), one_shot_kpis(purchases_as_csv(later))
    assert expected_before != expected_after
    with _world() as (world, res):
        products = put_files(res, {"products.csv": purchases_as_csv(purchases)["products.csv"]})
        _through_events(world, res, [{**p, "version": 1} for p in purchases[:1] + purchases[2:]], products)
        patches = [{"purchase_id": purchases[0]["purchase_id"], "status": "Returned", "version": 2},
                   {"purchase_id": purchases[1]["purchase_id"], "status": "canceled", "version": 2}]  # fmt: skip
        _through_events(world, res, patches)  # the second: a patch before its purchase: nothing lands yet
        assert world.item(kinds.PURCHASES, purchase_id=str(purchases[1]["purchase_id"]))["_partial"] is True
        _through_events(world, res, [{**purchases[1], "version": 1}])  # its whole (older) record completes it
        assert kpi_state(res) == expected_after


def test_a_purchase_kept_in_s3_for_its_size_is_landed_whole(aws_env: None) -> None:
    """Above ECOMPIPE_CLAIM_CHECK_KB the table holds a stub and S3 the payload: the landing reads
    the payload."""
    from events import producer

    purchases = [json.loads(b) for b in producer.payloads(3, seed=3, target_kb=400, kinds=("purchases",))]
    csv_batch = purchases_as_csv(purchases)
    expected = one_shot_kpis(csv_batch)
    with _world() as (world, res):
        _through_events(world, res, purchases, put_files(res, {"products.csv": csv_batch["products.csv"]}))
        assert world.bucket.list(event_layout.CLAIMS)  # the payloads were claim-checked
        assert kpi_state(res) == expected


def test_the_landing_lambda_lands_every_interval_within_its_minute() -> None:
    assert landing.tick_offsets(15) == [0, 15, 30, 45]
    assert (
        landing.tick_offsets(60) == [0]
        and landing.tick_offsets(7)[-1] == 49
        and landing.tick_offsets(0) == list(range(60))
    )


def test_a_marker_whose_purchase_is_gone_is_reported_and_cleared(aws_env: None) -> None:
    with _world() as (world, _res):
        landing.mark(world.bucket, "gone-1", "a" * 64)
        landed = landing.land(world.settings, world.dynamodb, world.bucket)
        assert landed.to_json() == {"purchases": 0, "files": [], "missing": ["gone-1"]}
        assert world.bucket.list(event_layout.LANDING) == []
