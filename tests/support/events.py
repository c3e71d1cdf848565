"""The events workload on in-process moto: its resources, the real consumer and handler, the
local event source mapping, and an SQS inbox subscribed to the alerts topic to read what was
published. Faults are injected at the AWS boundary (a botocore hook on the consumer's client)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.aws import clients as aws
from ecompipe.aws import dynamo
from ecompipe.aws.objects import Bucket
from ecompipe.core.settings import Settings
from events import handler, poller, resources
from events.kinds import Entity
from events.records import Consumer


@dataclass
class World:
    settings: Settings
    urls: dict[str, str]
    sqs: Any
    dynamodb: Any
    bucket: Bucket
    inbox: str
    consumer: Consumer = field(init=False)
    handle: Callable[[dict, Any], dict] = field(init=False)

    def __post_init__(self) -> None:
        self.consumer = handler.consumer(self.settings)
        self.handle = handler.make_handler(lambda: self.consumer)

    def send(self, *bodies: Any) -> None:
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            self.sqs.send_message(QueueUrl=self.urls["queue_url"], MessageBody=text)

    def receive(self, n: int = 10) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.urls["queue_url"], MaxNumberOfMessages=n, AttributeNames=["All"]
        ).get("Messages", [])

    def deliver(self, messages: list[dict], settle: bool = True) -> dict:
        """One invocation of the handler with these messages, as the event source mapping makes it
        (and, with settle, deletes the successes and makes the failures visible again)."""
        event = poller.sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
        response = self.handle(event, poller.LocalContext())
        if settle:
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            poller.settle(self.sqs, self.urls["queue_url"], messages, failed)
        return response

    def consume(self) -> poller.Polled:
        return poller.poll(self.sqs, self.urls["queue_url"], self.handle, self.settings.region)

    def item(self, entity: Entity, **key: str) -> dict | None:
        got = self.dynamodb.get_item(TableName=entity.table(self.settings), Key=dynamo.dump(key), ConsistentRead=True)
        return dynamo.load(got["Item"]) if "Item" in got else None

    def alerts(self) -> list[tuple[str, dict]]:
        """(kind from the message attribute, message) of every alert published so far."""
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for m in got:
                envelope = json.loads(m["Body"])
                out.append((envelope["MessageAttributes"]["alert"]["Value"], json.loads(envelope["Message"])))
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=m["ReceiptHandle"])

    def fail_writes(self, when: Callable[[dict], bool], code: str = "ProvisionedThroughputExceededException") -> None:
        """From now on, the consumer's DynamoDB writes whose parameters match `when` fail as AWS
        would after its retries (throttling by default)."""
        db = self.consumer.store.db

        def hook(params: dict, model: Any, **_: Any) -> None:
            if model.name in ("PutItem", "UpdateItem") and when(params):
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)

        db.meta.events.register("before-parameter-build.dynamodb", hook, unique_id="fault")

    def heal(self) -> None:
        self.consumer.store.db.meta.events.unregister("before-parameter-build.dynamodb", unique_id="fault")


def send_redelivered(w: World, sent: list[dict], data: Any) -> None:
    """Send these payloads in their order, up to two of them again, the consumer running after any
    of them (hypothesis' `data` draws which), then to the end: any delivery a queue may make."""
    from hypothesis import strategies as st

    again = data.draw(st.lists(st.sampled_from(sent), max_size=2))
    for body in [*sent, *again]:
        w.send(body)
        if data.draw(st.booleans()):
            w.consume()
    w.consume()


def make_world(settings: Settings) -> World:
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    bucket.ensure(settings.region)
    sqs, sns = aws.client("sqs", settings), aws.client("sns", settings)
    urls = resources.ensure(settings, aws.client("dynamodb", settings), sqs, sns)
    inbox = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=urls["topic_arn"], Protocol="sqs", Endpoint=inbox_arn)
    return World(settings, urls, sqs, aws.client("dynamodb", settings), bucket, inbox)


def mentions(params: dict, text: str) -> bool:
    return text in json.dumps(params, default=str)


# Event purchases and the same orders as a CSV batch (issue 16's comparisons), written here from
# the payloads, not by events/landing.py.
PRODUCTS_CSV = "product_id,category,name,price\n" + "".join(
    f"{n},{['Jeans', 'Outerwear', 'Accessories'][n % 3]},Product {n},10.00\n" for n in range(1, 11)
)
# what the pipeline calls the producer's statuses (docs/events.md)
PIPELINE_STATUS = {"paid": "processing", "pending": "pending", "shipped": "shipped", "returned": "returned",
                   "cancelled": "cancelled"}  # fmt: skip


def produced_purchases(count: int, seed: int = 3) -> list[dict]:
    """What `ecompipe events produce --kinds purchases --seed SEED` sends (products 1..10 below 100)."""
    from events import producer

    return [json.loads(b) for b in producer.payloads(count, seed=seed, kinds=("purchases",))]


def purchases_as_csv(purchases: list[dict]) -> dict[str, bytes]:
    """The same orders as a seed-dialect CSV batch, with a catalogue of their products."""

    def money(value: float) -> str:
        return f"{value:.2f}"

    orders = ["order_id,user_id,order_date,total_amount,status"]
    items = ["order_id,product_id,quantity,unit_price"]
    for p in purchases:
        status = PIPELINE_STATUS[p["status"]]
        orders.append(f"{p['purchase_id']},{p['customer_id']},{p['purchased_at']},{money(p['total_amount'])},{status}")
        items += [f"{p['purchase_id']},{i['product_id']},{i['quantity']},{money(i['price'])}" for i in p["items"]]
    return {
        "products.csv": PRODUCTS_CSV.encode(),
        "orders_csv.csv": ("\n".join(orders) + "\n").encode(),
        "order_items_csv.csv": ("\n".join(items) + "\n").encode(),
    }
