"""Where the events workload keeps what it writes in the data bucket (docs/events.md): invalid
records, alerts sent, payloads too large for DynamoDB, purchases waiting to be landed, and the
sales workflow's own prefix. The batch pipeline's keys are in ecompipe.core.layout."""

from __future__ import annotations

import hashlib
import re

from ecompipe.core.errors import LayoutError
from ecompipe.core.layout import REJECTED, date_token, file_name, key_token

REJECTED_EVENTS = REJECTED + "events/"
ALERTS = "events/alerts/"
CLAIMS = "events/claims/"
STOCK_LEGS = "events/stock/"  # one empty object per purchase and leg applied (events.sales_stock)


def rejected_event_key(day: str, digest: str) -> str:
    """One invalid event: its body and reasons, named by the body's digest (stored once)."""
    return f"{REJECTED_EVENTS}{date_token(day)}/{key_token(digest)}.json"


def alert_key(kind: str, alert_id: str) -> str:
    """The record of one alert published (its marker: an alert is published once)."""
    return f"{ALERTS}{key_token(kind)}/{key_token(alert_id)}.json"


def stock_leg_key(purchase_id: str, leg: str) -> str:
    if not _PURCHASE_ID.fullmatch(purchase_id):
        raise ValueError(f"not a purchase id: {purchase_id!r}")
    return f"{STOCK_LEGS}{leg}/{purchase_id}"


def claim_key(entity: str, digest: str) -> str:
    """An entity's full payload, when its item would pass DynamoDB's size limit."""
    return f"{CLAIMS}{key_token(entity)}/{key_token(digest)}.json"


# Purchases accepted on the events path, waiting to be landed in incoming/ as seed-dialect CSV
# (events/landing.py): one empty marker per applied purchase payload, named <digest>.<purchase id>.
LANDING = "events/landing/purchases/"
_PURCHASE_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")  # events.fields.entity_id's alphabet


def landing_marker_key(digest: str, purchase_id: str) -> str:
    """The marker saying a purchase changed (its payload's digest first: no '.' in it)."""
    if not _PURCHASE_ID.fullmatch(purchase_id):
        raise LayoutError(f"{purchase_id!r} is not an event id")
    return f"{LANDING}{key_token(digest)}.{purchase_id}"


def landing_marker_id(key: str) -> str:
    """The purchase id a marker names."""
    return file_name(key).split(".", 1)[1]


def landed_file_names(stamp: str) -> tuple[str, str]:
    """The orders and order-items files one landing writes (seed dialect, kinds by name)."""
    token = key_token(stamp)
    return f"orders_events_{token}.csv", f"order_items_events_{token}.csv"


_LANDED = re.compile(r"(orders|order_items)_events_([A-Za-z0-9_-]{1,64})\.csv")


def landed_pairs(names: list[str]) -> list[str]:
    """The landings (their stamps) whose two files are both among `names`: each asks for its batch
    at once (trigger.decision), so event purchases reach the KPIs without waiting for thresholds."""
    found: dict[str, set[str]] = {}
    for name in names:
        match = _LANDED.fullmatch(name)
        if match:
            found.setdefault(match[2], set()).add(match[1])
    return sorted(stamp for stamp, kinds in found.items() if kinds == {"orders", "order_items"})


SALES = "sales/"


def saleskey_token(key: str) -> str:
    """A sales file's name in the workflow's own prefix (its key's digest: any key, one token)."""
    return hashlib.sha256(key.encode()).hexdigest()  # what States.Hash($.key, 'SHA-256') gives


def sales_records_key(key: str) -> str:
    """A large sales file's records as one JSON array (what a Distributed Map's ItemReader reads)."""
    return f"{SALES}{saleskey_token(key)}/records.json"


def sales_outcome_key(key: str) -> str:
    """What the split of a large sales file found: {"records": n, ...} or {"reason", "message"}."""
    return f"{SALES}{saleskey_token(key)}/outcome.json"


# One empty marker per consumer batch that applied records, its count in its name: the events
# applied per day are counted from a listing (GET /api/events/activity), no object read.
ACTIVITY = "events/activity/"


def activity_key(day: str, applied: int, batch: str) -> str:
    return f"{ACTIVITY}{date_token(day)}/{int(applied)}.{key_token(batch)}"


def activity_count(key: str) -> tuple[str, int] | None:
    """(day, applied) a marker names; None for a key that is not one."""
    day, _, name = key.removeprefix(ACTIVITY).partition("/")
    count = name.split(".", 1)[0]
    return (day, int(count)) if count.isdigit() else None


# One empty marker per consumer batch, its outcomes per entity in its name, under the minute it was
# written: the periodic summary (events.summary) sums an interval's from one listing, no object read.
TALLIES = "events/tallies/"
_TALLY_PART = re.compile(r"([a-z]+)((?:-[a-z][0-9]+)+)")


def tally_key(moment: str, batch: str, counts: dict[str, dict[str, int]]) -> str:
    """`moment`: YYYY-MM-DDTHHMMSS (UTC); `counts`: entity -> outcome -> n, each outcome named by
    its first letter (applied, superseded, duplicate, invalid)."""
    day, _, time = moment.partition("T")
    parts = [
        entity + "".join(f"-{o[0]}{n}" for o, n in sorted(outcomes.items()) if n)
        for entity, outcomes in sorted(counts.items())
        if any(outcomes.values())
    ]
    return f"{TALLIES}{date_token(day)}/{key_token(time)}.{key_token(batch)}.{'.'.join(parts) or 'none'}"


def tally_day_prefix(day: str) -> str:
    return f"{TALLIES}{date_token(day)}/"


def tally_counts(key: str, outcomes: tuple[str, ...]) -> tuple[str, dict[str, dict[str, int]]] | None:
    """(HHMMSS, entity -> outcome -> n) a tally names; None for a key that is not one."""
    name = key.rsplit("/", 1)[-1]
    time, _, rest = name.partition(".")
    _batch, _, parts = rest.partition(".")
    by_letter = {o[0]: o for o in outcomes}
    counts: dict[str, dict[str, int]] = {}
    for part in parts.split(".") if parts and parts != "none" else []:
        found = _TALLY_PART.fullmatch(part)
        if found is None:
            return None
        counts[found[1]] = {by_letter[p[0]]: int(p[1:]) for p in found[2][1:].split("-") if p[0] in by_letter}
    return (time, counts) if time.isdigit() and len(time) == 6 else None
