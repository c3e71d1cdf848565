"""The periodic summary on the alerts topic (docs/events.md, "Alerts"): every
ECOMPIPE_SUMMARY_MINUTES a scheduled Lambda (events.summary.handler; locally `ecompipe events
summary`) publishes one message saying what the consumer did over the last whole interval
(applied, superseded, duplicate, invalid, per entity) and what waits in the dead-letter queues, so
people learn that processing goes on without a message per event. Quiet intervals say so too.

The counts come from the consumer's tally markers (one per consumer batch, its counts in its name:
ecompipe.core.event_layout.tally_key), listed from the interval's start: no object is read. An
interval's summary is published once (its alert record), however often the schedule fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout
from ecompipe.core.settings import Settings
from events import alerts, queues
from events.alerts import Alert
from events.outbox import Outbox
from events.store import OUTCOMES


def window(now: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The last whole interval before `now`: intervals of `minutes` counted from midnight UTC."""
    if minutes < 1:
        raise ValueError("ECOMPIPE_SUMMARY_MINUTES must be at least 1")
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=minutes)
    end = midnight + step * ((now.astimezone(UTC) - midnight) // step)
    return end - step, end


def counted(bucket: Bucket, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """entity -> outcome -> n over [start, end), from the tally markers."""
    totals: dict[str, dict[str, int]] = {}
    day = start.date()
    while day <= (end - timedelta(microseconds=1)).date():
        prefix = event_layout.tally_day_prefix(day.isoformat())
        # (keys are HHMMSS.<batch>...: '~' sorts after every key of the second before the start;
        # an interval from midnight lists its day whole, that second being yesterday's)
        before = start - timedelta(seconds=1)
        after = f"{prefix}{before:%H%M%S}~" if day == start.date() == before.date() else ""
        for info in bucket.list(prefix, after=after):
            found = event_layout.tally_counts(info.key, OUTCOMES)
            if found is None:
                continue
            moment = datetime.strptime(f"{day.isoformat()}T{found[0]}", "%Y-%m-%dT%H%M%S").replace(tzinfo=UTC)
            if not start <= moment < end:
                continue
            for entity, outcomes in found[1].items():
                mine = totals.setdefault(entity, {})
                for outcome, n in outcomes.items():
                    mine[outcome] = mine.get(outcome, 0) + n
        day += timedelta(days=1)
    return totals


def summarise(settings: Settings, bucket: Bucket, sqs: Any, outbox: Outbox, now: datetime | None = None) -> dict:
    """Publish the last whole interval's summary (once); what it says, and whether it was sent now."""
    start, end = window(now or datetime.now(UTC), settings.summary_minutes)
    dlq = {
        name: queues.depth(sqs, queues.queue_url(sqs, queue))
        for name, queue in (("events", settings.events_dlq), ("sales", settings.sales_dlq))
    }
    span = f"{start:%Y-%m-%dT%H:%M}", f"{end:%Y-%m-%dT%H:%M}"
    alert: Alert = alerts.summary(*span, counted(bucket, start, end), OUTCOMES, dlq)
    return {**alert.message, "published": outbox.publish(alert)}


def handler(_event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    """The scheduled Lambda."""
    settings = Settings.from_env()
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    sns, sqs = aws.client("sns", settings), aws.client("sqs", settings)
    return summarise(settings, bucket, sqs, Outbox(bucket, sns, queues.topic_arn(sns, settings.alerts_topic)))
