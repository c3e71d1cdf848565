"""What an invocation was about: S3 notifications, EventBridge "Object Created" events and
schedule ticks all come down to 'sweep incoming/' plus the keys that were named (for the log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from ecompipe.core import layout


@dataclass
class Invocation:
    source: str  # "s3", "eventbridge", "schedule", "manual"
    keys: list[str] = field(default_factory=list)  # incoming keys named by the event, for a batch
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


def parse(event: dict[str, Any] | None) -> Invocation:
    """Classify an event. Unknown shapes are treated as a manual sweep, never an error."""
    event = event or {}
    if "Records" in event:
        inv = Invocation("s3")
        for record in event["Records"]:
            # S3 notifications URL-encode keys (spaces as '+')
            _consider(inv, unquote_plus(record.get("s3", {}).get("object", {}).get("key", "")))
        return inv
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        inv = Invocation("eventbridge")
        _consider(inv, str(event.get("detail", {}).get("object", {}).get("key", "")))
        return inv
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return Invocation("schedule")
    return Invocation("manual")


def _consider(inv: Invocation, key: str) -> None:
    if not key.startswith(layout.INCOMING):
        inv.ignored.append((key, "outside incoming/"))
    elif layout.is_sales_file(key):
        inv.ignored.append((key, "a JSON sales file: the sales workflow takes it"))
    else:
        inv.keys.append(key)
