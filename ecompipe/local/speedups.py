"""The emulator's (moto's) costs that grow with what it holds or serves, cut to what AWS's are:
the same answers, in the same order, for less work. Applied with ecompipe.local.patches, where
the emulator runs in our process; none is loaded on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ecompipe.core.timestamps import parse_timestamp


def apply() -> None:
    """Every speed-up below (idempotent)."""
    patch_moto_sqs_attributes()
    patch_moto_sqs_visible_messages()
    patch_moto_s3_prefix_listing()
    patch_moto_timestamps()


def patch_moto_sqs_attributes() -> None:
    """moto builds every queue attribute, counting all its messages, whenever it reads one: on
    each SendMessage (for ContentBasedDeduplication) and for each message a ReceiveMessage returns
    (for MessageRetentionPeriod). That makes a queue of n messages cost O(n^2). Attributes are
    computed when asked for instead: the same values, and the counts only when read."""
    from moto.core.utils import camelcase_to_underscores
    from moto.sqs.models import Queue

    if getattr(Queue, "_ecompipe_patched", False):
        return

    class LazyAttributes(Mapping):
        def __init__(self, queue: Any) -> None:
            self.queue = queue
            names = list(queue.BASE_ATTRIBUTES)
            if queue.fifo_queue:
                names += queue.FIFO_ATTRIBUTES
            if queue.kms_master_key_id:
                names += queue.KMS_ATTRIBUTES
            if queue.policy:
                names.append("Policy")
            if queue.redrive_policy and "RedrivePolicy" not in names:
                names.append("RedrivePolicy")
            self.names = names

        def __getitem__(self, name: str) -> Any:
            if name not in self.names:
                raise KeyError(name)
            if name == "Policy":
                value = self.queue.policy
            elif name == "RedrivePolicy":
                value = json.dumps(self.queue.redrive_policy) if self.queue.redrive_policy else None
            else:
                value = getattr(self.queue, camelcase_to_underscores(name))
            return str(value).lower() if isinstance(value, bool) else value

        def __iter__(self) -> Iterator[str]:
            return iter(self.names)

        def __len__(self) -> int:
            return len(self.names)

    Queue.attributes = property(lambda self: LazyAttributes(self))  # type: ignore[assignment]
    Queue._ecompipe_patched = True  # type: ignore[attr-defined]


def patch_moto_sqs_visible_messages() -> None:
    """moto's ReceiveMessage lists every visible message of the queue before taking the first ten,
    and DeleteMessage scans every message for the receipt handle: draining a queue of n messages
    costs O(n^2) (a 10,000-record sales file took 224 s to consume, most of it here). Visible
    messages are now yielded lazily in the same order, and a deletion looks among the received
    (in-flight) messages first, where the handle is; anything else takes moto's own path."""
    from moto.sqs.models import Queue

    if getattr(Queue, "_ecompipe_visible_patched", False):
        return

    class Visible:
        """The queue's visible, undelayed messages, in order, computed as they are read."""

        def __init__(self, queue: Any) -> None:
            self.messages = list(queue._messages)

        def __iter__(self) -> Iterator[Any]:
            return (m for m in self.messages if m.visible and not m.delayed)

        def __bool__(self) -> bool:
            return next(iter(self), None) is not None

        def __len__(self) -> int:
            return sum(1 for _ in self)

    original_delete = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = next((m for m in self.pending_messages if m.had_receipt_handle(receipt_handle)), None)
        if message is None:
            original_delete(self, receipt_handle)
            return
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages.remove(message)  # by identity: Message defines no __eq__

    Queue.messages = property(lambda self: Visible(self))  # type: ignore[assignment]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    Queue._ecompipe_visible_patched = True  # type: ignore[attr-defined]


def patch_moto_s3_prefix_listing() -> None:
    """moto answers a LIST with a prefix by walking every key the bucket ever held (in a versioned
    bucket deleted keys stay, each looked up in Python), so a LIST's cost grows with the bucket's
    history: ~35 ms each after 100 batches, a batch makes several. S3 answers from its index by
    prefix. This hands moto only the names under the prefix (one pass over the names in C); what
    it does with them is moto's own code."""
    from moto.s3.models import FakeTableStorageBucket, S3Backend

    if getattr(S3Backend, "_ecompipe_listing_patched", False):
        return
    original = S3Backend.list_objects

    class _Under:
        """The bucket's keys under one prefix: what moto's listing iterates."""

        def __init__(self, store: Any, prefix: str) -> None:
            self.store = store
            self.names = [n for n in list(dict.keys(store)) if n.startswith(prefix)]

        def items(self) -> Iterator[tuple[str, Any]]:
            for name in self.names:
                latest = self.store.get(name)
                if latest is not None:
                    yield name, latest

    class _Bucket:
        def __init__(self, bucket: Any, prefix: str) -> None:
            self._bucket, self.keys = bucket, _Under(bucket.keys, prefix)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._bucket, name)

    def list_objects(self: Any, bucket: Any, prefix: Any, delimiter: Any, marker: Any, max_keys: Any) -> Any:
        if not prefix or isinstance(bucket, FakeTableStorageBucket):
            return original(self, bucket, prefix, delimiter, marker, max_keys)
        return original(self, _Bucket(bucket, prefix), prefix, delimiter, marker, max_keys)

    S3Backend.list_objects = list_objects  # type: ignore[method-assign]
    S3Backend._ecompipe_listing_patched = True  # type: ignore[attr-defined]


def patch_moto_timestamps() -> None:
    """moto's serializer reads every timestamp it answers with (an object's LastModified, kept as
    text) through botocore's general parser, dateutil's: ~0.15 ms each, so a LIST of 1,000 keys
    spent 150 ms on its dates alone. They are read by ecompipe.core.timestamps first (the same
    instant; anything it does not know still goes to botocore's)."""
    from botocore.utils import parse_to_aware_datetime
    from moto.core import serialize

    if getattr(serialize, "_ecompipe_timestamps_patched", False):
        return

    def aware(value: Any) -> Any:
        if isinstance(value, str):
            parsed = parse_timestamp(value)
            if parsed.tzinfo is not None:
                return parsed
        return parse_to_aware_datetime(value)

    serialize.parse_to_aware_datetime = aware  # type: ignore[assignment]
    serialize._ecompipe_timestamps_patched = True  # type: ignore[attr-defined]
