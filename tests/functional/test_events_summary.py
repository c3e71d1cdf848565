"""The periodic summary on the alerts topic (events.summary): what the consumer did over the last
whole interval, per outcome and entity, and the DLQs' depth, published once per interval; batches
outside the interval are not counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecompipe.core import event_layout
from events import alerts, queues, summary
from events.outbox import Outbox
from tests.support.events import World

pytestmark = pytest.mark.functional


def _customer(n: int) -> dict:
    return {"customer_id": n, "name": "Ann", "email": f"c{n}@example.com"}


def _summarise(w: World, now: datetime) -> dict:
    outbox = Outbox(w.bucket, w.consumer.outbox.sns, w.consumer.outbox.topic_arn)
    return summary.summarise(w.settings, w.bucket, w.sqs, outbox, now)


def test_the_summary_counts_the_last_interval_per_entity_once(events_world: World) -> None:
    w = events_world
    w.send(*[_customer(n) for n in range(5)], _customer(1), {"purchase_id": 1, "status": "lost"}, "not json")
    w.consume()
    w.alerts()  # (the batch's invalid alert)
    now = datetime.now(UTC)
    start, end = summary.window(now + timedelta(hours=1), 60)  # the interval holding now
    said = _summarise(w, end)
    assert said["published"] and (said["from"], said["to"]) == (f"{start:%Y-%m-%dT%H:%M}", f"{end:%Y-%m-%dT%H:%M}")
    assert said["totals"] == {"applied": 5, "superseded": 0, "duplicate": 1, "invalid": 2}
    assert said["by_entity"]["customers"] == {"applied": 5, "superseded": 0, "duplicate": 1, "invalid": 0}
    assert said["by_entity"]["purchases"]["invalid"] == 1 and said["by_entity"]["unknown"]["invalid"] == 1
    assert said["dlq"] == {"events": 0, "sales": 0}
    published = w.alerts()
    assert [kind for kind, _ in published] == [alerts.SUMMARY] and published[0][1]["totals"] == said["totals"]
    assert not _summarise(w, end)["published"] and w.alerts() == []  # one message per interval
    later = _summarise(w, end + timedelta(hours=1))  # the next interval: nothing happened in it
    assert later["published"] and later["totals"] == {"applied": 0, "superseded": 0, "duplicate": 0, "invalid": 0}


def test_the_summary_takes_only_its_interval_even_across_midnight(events_world: World) -> None:
    w = events_world
    day = "2026-12-06"
    counts = {"customers": {"applied": 2}}
    for moment in ("105959", "110000", "115959", "120000"):  # the interval 11:00-12:00 holds two
        w.bucket.put_bytes(event_layout.tally_key(f"{day}T{moment}", f"b{moment}", counts), b"")
    start = datetime(2026, 12, 6, 11, tzinfo=UTC)
    assert summary.counted(w.bucket, start, start + timedelta(hours=1)) == {"customers": {"applied": 4}}
    midnight = datetime(2026, 12, 7, tzinfo=UTC)
    w.bucket.put_bytes(event_layout.tally_key("2026-12-06T235959", "late", counts), b"")
    w.bucket.put_bytes(event_layout.tally_key("2026-12-07T000000", "early", counts), b"")
    assert summary.counted(w.bucket, midnight - timedelta(hours=1), midnight) == {"customers": {"applied": 2}}
    # the day's first interval lists the day from its start (not from the second before, yesterday's)
    assert summary.counted(w.bucket, midnight, midnight + timedelta(hours=1)) == {"customers": {"applied": 2}}
    assert summary.window(datetime(2026, 12, 6, 11, 59, tzinfo=UTC), 15)[0] == datetime(2026, 12, 6, 11, 30, tzinfo=UTC)


def test_a_dead_letter_message_shows_in_the_summary(events_world: World) -> None:
    w = events_world
    w.sqs.send_message(QueueUrl=queues.queue_url(w.sqs, w.settings.events_dlq), MessageBody="{}")
    said = _summarise(w, datetime.now(UTC))
    assert said["dlq"] == {"events": 1, "sales": 0}
    [(kind, message)] = w.alerts()
    assert kind == alerts.SUMMARY and message["dlq"] == {"events": 1, "sales": 0}
