"""The emulator's SQS fixes (ecompipe/local/speedups.py) keep SQS's behaviour: order, visibility,
deletion by any receipt handle a message had, redrive to the dead-letter queue, the counts."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tests.conftest import MOTO_CONFIG


@pytest.fixture
def sqs(aws_env: None):
    with mock_aws(config=MOTO_CONFIG):
        yield boto3.client("sqs", region_name="us-east-1")


def _queue(sqs, name: str = "q", **attributes: str) -> str:
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def _send(sqs, url: str, n: int) -> None:
    for start in range(0, n, 10):
        entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(start, min(n, start + 10))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _receive(sqs, url: str, n: int = 10, visibility: int = 30) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, VisibilityTimeout=visibility).get("Messages", [])


def _counts(sqs, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(got[names[0]]), int(got[names[1]])


def test_receive_skips_in_flight_messages_and_keeps_the_order(sqs) -> None:
    url = _queue(sqs)
    _send(sqs, url, 25)
    first = [m["Body"] for m in _receive(sqs, url)]
    second = [m["Body"] for m in _receive(sqs, url)]
    assert first == [str(i) for i in range(10)]
    assert second == [str(i) for i in range(10, 20)]
    assert _counts(sqs, url) == (5, 20)


def test_a_message_made_visible_again_is_received_again(sqs) -> None:
    url = _queue(sqs)
    _send(sqs, url, 3)
    got = _receive(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0)
    again = _receive(sqs, url)
    assert [m["Body"] for m in again] == ["1"]
    assert again[0]["ReceiptHandle"] != got[1]["ReceiptHandle"]


def test_delete_by_a_current_or_an_earlier_handle_and_twice(sqs) -> None:
    url = _queue(sqs)
    _send(sqs, url, 2)
    old = _receive(sqs, url, 1, visibility=0)[0]
    new = _receive(sqs, url, 1)[0]
    assert old["Body"] == new["Body"] == "0"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])  # an earlier handle still deletes
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])  # and again is no error
    assert [m["Body"] for m in _receive(sqs, url)] == ["1"]
    assert _counts(sqs, url) == (0, 1)


def test_a_handle_never_given_is_refused(sqs) -> None:
    url = _queue(sqs)
    _send(sqs, url, 1)
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")


def test_delete_message_batch_deletes_received_messages(sqs) -> None:
    url = _queue(sqs)
    _send(sqs, url, 30)
    drained: list[str] = []
    while got := _receive(sqs, url):
        drained += [m["Body"] for m in got]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        assert len(sqs.delete_message_batch(QueueUrl=url, Entries=entries)["Successful"]) == len(got)
    assert drained == [str(i) for i in range(30)]
    assert _counts(sqs, url) == (0, 0)


def test_redrive_to_the_dead_letter_queue_after_max_receives(sqs) -> None:
    dlq = _queue(sqs, "dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _queue(sqs, "main", RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2}))
    _send(sqs, url, 1)
    for _ in range(2):
        assert len(_receive(sqs, url, visibility=0)) == 1
    assert _receive(sqs, url) == []
    assert [m["Body"] for m in _receive(sqs, dlq)] == ["0"]
