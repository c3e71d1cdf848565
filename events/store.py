"""The entity tables (DynamoDB, an injected client). Every write is conditional, so a record
applied twice has one effect and an older update never overwrites a newer one:

- customers, purchases, products, subscriptions: a whole record is a PutItem only if the item is
  absent or holds an older (`_seq`, `_digest`) and no field a patch won; the same payload again
  fails the condition as a duplicate. A patch, or a whole record meeting patched fields, is merged
  field by field (events.patches) and put only if the item is still the one merged with (its
  `_rev`): a merge racing another is done again.
- activity: PutItem only if that (user, time#digest) is absent: append-only, TTL on `expires_at`.
- inventory: each warehouse's stock changes only if its item has not counted this movement's
  digest (the last RECENT_KEPT digests live on the item), so a movement is counted once however
  often it is delivered; older repeats are caught by the idempotency records. No transaction: a
  transfer's two legs are each exactly once, and a crash between them is finished by the retry.
- low stock: a conditional flag on the stock item claims each crossing below the threshold once.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from botocore.exceptions import ClientError

from ecompipe.aws import dynamo
from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout
from ecompipe.core.errors import error_code
from ecompipe.core.settings import Settings
from events import items, patches
from events.items import DIGEST, PATCHED, REV, SEQ
from events.kinds import INVENTORY, Entity
from events.patches import APPLIED, DUPLICATE, SUPERSEDED

INVALID = "invalid"
OUTCOMES = (APPLIED, SUPERSEDED, DUPLICATE, INVALID)  # every message ends in one (invalid: kept, never written)
# idempotency records outlive any redelivery: SQS keeps a message (and its DLQ copy) at most 14 days
EFFECT_TTL_SECONDS = 15 * 24 * 3600
_CONDITION_FAILED = "ConditionalCheckFailedException"
# newer wins; equal order falls to the larger digest, so any delivery order ends in the same state
NOT_COUNTED = "attribute_not_exists(#recent) OR NOT contains(#recent, :dg)"
RECENT, RECENT_KEPT = "recent_moves", 100
NEWER = "attribute_not_exists(#k) OR (attribute_not_exists(#pt) AND (#seq < :seq OR (#seq = :seq AND #dg < :dg)))"
MERGE_ATTEMPTS = 20  # merges of one entity racing each other; past it the record is retried by SQS
BELOW_AND_ARMED = "#st < #th AND (attribute_not_exists(#low) OR #low = :no)"
BACK_UP_AND_LOW = "#st >= #th AND #low = :yes"


class EntityStore:
    def __init__(self, dynamodb: Any, bucket: Bucket, settings: Settings) -> None:
        self.db = dynamodb
        self.bucket = bucket
        self.settings = settings

    def upsert(self, entity: Entity, item: dict[str, Any], patch: bool = False) -> tuple[str, dict[str, Any] | None]:
        """Write the newest state of an entity: applied, superseded (newer values are stored) or
        duplicate; with the item as it stands after when the update was merged with patches
        (None: a whole record written or refused whole, so the record is the entity's state)."""
        if not patch:
            refused = self._put_if(
                entity,
                item,
                NEWER,
                {"#seq": SEQ, "#dg": DIGEST, "#pt": PATCHED},
                {":seq": item[SEQ], ":dg": item[DIGEST]},
            )
            if refused is None:
                return APPLIED, None
            stored = dynamo.load(refused)
            if PATCHED not in stored:
                return (DUPLICATE if stored.get(DIGEST) == item[DIGEST] else SUPERSEDED), None
        else:
            stored = self._get(entity, item) or None
        return self._merge(entity, item, stored, patch)

    def _merge(
        self, entity: Entity, item: dict[str, Any], stored: dict[str, Any] | None, patch: bool
    ) -> tuple[str, dict[str, Any] | None]:
        """Merge the update into the stored item and put it if the item is still the one read."""
        fields = {k: v for k, v in item.items() if k not in patches.META}
        update = patches.Update(fields, int(item[SEQ]), str(item[DIGEST]), patch, entity.keys)
        for _ in range(MERGE_ATTEMPTS):
            whole = self._payload(stored)
            merged = patches.merge(whole, update, str(item["received_at"]))
            if merged.item is None:
                return merged.outcome, whole
            new = {**merged.item, REV: uuid4().hex}
            refused = self._put_if(entity, new, *_unchanged(stored))
            if refused is None:
                return merged.outcome, new
            stored = dynamo.load(refused) or self._get(entity, item) or None
        raise RuntimeError(f"{entity.name} {item[entity.keys[0]]}: {MERGE_ATTEMPTS} merges raced; retried later")

    def _get(self, entity: Entity, item: dict[str, Any]) -> dict[str, Any]:
        got = self.db.get_item(
            TableName=entity.table(self.settings),
            Key=dynamo.dump({k: item[k] for k in entity.keys}),
            ConsistentRead=True,
        )
        return dynamo.load(got.get("Item", {}))

    def _payload(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        """The stored item whole (a claim check's payload read from S3)."""
        if stored is None or "claim_s3" not in stored:
            return stored
        return {**self.bucket.get_json(str(stored["claim_s3"]).split("/", 3)[3]), REV: stored.get(REV)}

    def append(self, entity: Entity, item: dict[str, Any]) -> str:
        """Add an item that is never updated (activity): applied, or duplicate when it is there."""
        return APPLIED if self._put_if(entity, item, "attribute_not_exists(#k)", {}, {}) is None else DUPLICATE

    def _put_if(
        self, entity: Entity, item: dict[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Put the item (or its claim-check stub) if `condition` holds; None when written, else the
        stored item that refused it (as DynamoDB returns it)."""
        kwargs: dict[str, Any] = {"ExpressionAttributeValues": dynamo.dump(values)} if values else {}
        try:
            self.db.put_item(
                TableName=entity.table(self.settings),
                Item=dynamo.dump(self._fitting(entity, item)),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#k": entity.keys[0], **names},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return exc.response.get("Item", {})
        return None

    def move_stock(
        self,
        product_id: str,
        moves: list[tuple[str, int]],
        threshold: int | None,
        digest: str,
        at: str,
        tracked_only: bool = False,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Change the stock of each (warehouse, delta) once per movement digest (`tracked_only`:
        only where a stock item exists: a sale of a product nobody stocks moves nothing). Returns
        applied (some leg changed) or duplicate, and each warehouse's stock item as it stands after
        (an empty one where there is none)."""
        outcome, states = DUPLICATE, []
        for warehouse, delta in moves:
            state = self._move(product_id, warehouse, delta, threshold, digest, at, tracked_only)
            if state is None:
                state = self.stock(product_id, warehouse)
            else:
                outcome = APPLIED
            states.append(state)
        return outcome, states

    def _move(
        self,
        product_id: str,
        warehouse: str,
        delta: int,
        threshold: int | None,
        digest: str,
        at: str,
        tracked_only: bool = False,
    ) -> dict[str, Any] | None:
        """One leg of a movement, unless this item already counted it (None then)."""
        condition = f"attribute_exists(#st) AND ({NOT_COUNTED})" if tracked_only else NOT_COUNTED
        threshold_rule = ":th" if threshold is not None else "if_not_exists(#th, :th)"
        try:
            got = self.db.update_item(
                TableName=self.settings.inventory_table,
                Key=dynamo.dump({"product_id": product_id, "warehouse_id": warehouse}),
                UpdateExpression=f"SET #st = if_not_exists(#st, :zero) + :d, #th = {threshold_rule}, "
                "updated_at = :at, #recent = list_append(if_not_exists(#recent, :none), :mine)",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "stock", "#th": "threshold", "#recent": RECENT},
                ExpressionAttributeValues=dynamo.dump(
                    {
                        ":zero": 0,
                        ":d": delta,
                        ":th": threshold if threshold is not None else self.settings.low_stock_threshold,
                        ":at": at,
                        ":none": [],
                        ":mine": [digest],
                        ":dg": digest,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return None
        state = dynamo.load(got["Attributes"])
        if len(state[RECENT]) > RECENT_KEPT:  # forget the oldest: idempotency records cover those
            excess = len(state[RECENT]) - RECENT_KEPT
            self.db.update_item(
                TableName=self.settings.inventory_table,
                Key=dynamo.dump({"product_id": product_id, "warehouse_id": warehouse}),
                UpdateExpression="REMOVE " + ", ".join(f"#recent[{i}]" for i in range(excess)),
                ExpressionAttributeNames={"#recent": RECENT},
            )
        return state

    def stock(self, product_id: str, warehouse_id: str) -> dict[str, Any]:
        """The stock item as it stands (a consistent read)."""
        got = self.db.get_item(
            TableName=self.settings.inventory_table,
            Key=dynamo.dump({"product_id": product_id, "warehouse_id": warehouse_id}),
            ConsistentRead=True,
        )
        return dynamo.load(got.get("Item", {}))

    def claim_low(self, product_id: str, warehouse_id: str) -> dict[str, Any] | None:
        """Mark the item low if it is below its threshold and was not low: the one caller that
        succeeds owns this crossing (its number is `crossings`). None when nothing crossed."""
        return self._flag(product_id, warehouse_id, BELOW_AND_ARMED, "SET #low = :yes ADD crossings :one")

    def rearm(self, product_id: str, warehouse_id: str) -> None:
        """The level is back at or above the threshold: the next fall is a new crossing."""
        self._flag(product_id, warehouse_id, BACK_UP_AND_LOW, "SET #low = :no")

    def _flag(self, product_id: str, warehouse_id: str, condition: str, update: str) -> dict[str, Any] | None:
        values = {":yes": True, ":no": False}
        if ":one" in update:
            values[":one"] = 1
        try:
            got = self.db.update_item(
                TableName=self.settings.inventory_table,
                Key=dynamo.dump({"product_id": product_id, "warehouse_id": warehouse_id}),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "stock", "#th": "threshold", "#low": "low"},
                ExpressionAttributeValues=dynamo.dump(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return None
        return dynamo.load(got["Attributes"])

    def _fitting(self, entity: Entity, item: dict[str, Any]) -> dict[str, Any]:
        """The item, or its stub with the payload in S3 when it would pass the size limit (claim check)."""
        size = items.size_of(item)
        if size <= self.settings.claim_check_kb * 1024 or entity is INVENTORY:
            return item
        key = event_layout.claim_key(entity.name, item[items.DIGEST])
        self.bucket.put_bytes(key, items.payload_json(item), "application/json")
        return items.claim_stub(item, entity, f"s3://{self.bucket.name}/{key}", size)


def _unchanged(stored: dict[str, Any] | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The condition (expression, names, values) that the item is still `stored`."""
    if stored is None:
        return "attribute_not_exists(#k)", {}, {}
    if stored.get(REV) is not None:
        return "attribute_exists(#k) AND #rev = :rev", {"#rev": REV}, {":rev": stored[REV]}
    return (
        "attribute_exists(#k) AND attribute_not_exists(#rev) AND #dg = :dg",
        {"#rev": REV, "#dg": DIGEST},
        {":dg": stored[DIGEST]},
    )
