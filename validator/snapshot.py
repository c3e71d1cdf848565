"""Validation without the lease: what it read of the shared state, and whether that still holds
when the batch commits.

A batch's validation reads three things that another batch's commit changes:
- the pending set: it carries, resolves, supersedes and expires the items held before;
- the known order ids and product ids: an item whose order or product is unknown is held.
Everything else it checks is the batch's own rows.

So its outcome is still what a validation at commit time would give when
- the pending set is the same object (same ETag, or absent both times), and
- none of the ids its held items wait for has become known.
Ids never become unknown: an order moved to another date keeps its id, and no batch removes a
product. When either condition fails, what depends on them (the batch's held items and the
pending set) is checked again, under the lease, before the batch commits (validator.task.recheck,
ecompipe.batch.pipeline.commit). Each batch then commits what a validation serialised with every
other commit would have said.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

KnownIds = Callable[[pd.Index], pd.Index]  # which of these ids are stored


def snapshot(pending_etag: str | None, waits_for: dict[str, list[str]]) -> dict:
    """What a validation read, as recorded beside its staged rows."""
    return {"pending_etag": pending_etag, "waits_for": waits_for}


def why_stale(recorded: dict, pending_etag: str | None, known_orders: KnownIds, known_products: KnownIds) -> str | None:
    """Why the recorded validation no longer holds (None when it does). The known ids are only
    read when the held items wait for any."""
    if recorded.get("pending_etag") != pending_etag:
        return "the pending set changed since the batch was validated (another batch committed)"
    waits = recorded.get("waits_for", {})
    for kind, known in (("orders", known_orders), ("products", known_products)):
        ids = pd.Series(waits.get(kind, []), dtype="str")
        if len(ids):
            found = pd.Series(known(pd.Index(ids)), dtype="str")
            if len(found):
                return (
                    f"{len(found)} {kind[:-1]} id(s) that held items wait for became known since the batch "
                    f"was validated (e.g. {found.iloc[0]})"
                )
    return None
