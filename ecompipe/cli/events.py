"""`ecompipe events ...`: the real-time events workload (docs/events.md) from the command line: send
test traffic, consume the queue as the Lambda's event source mapping would, look at what it holds,
move the DLQ back, or all of it at once on the embedded emulator (demo)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.cli import render
from ecompipe.cli.common import Failure, endpoint_option, failures, queue_or_fail, settings_for, stderr, stdout
from ecompipe.core import text
from ecompipe.core.settings import Settings
from ecompipe.local.emulator import Emulator
from events import poller, producer, queues, resources
from events import stats as event_stats

output_option = click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)


@click.group()
def events() -> None:
    """Real-time events: SQS -> the consumer Lambda -> one table per entity, alerts on SNS."""


def _every_second(say: Callable[[], str]) -> Callable[[Any], None]:
    """A progress callback that prints on stderr at most once a second."""
    last = [0.0]

    def tick(_state: Any) -> None:
        if time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            stderr.print(say())

    return tick


def _send(settings: Settings, bodies: Iterator[str], batch_size: int, rate: float, total: int | None) -> dict:
    sqs = aws.client("sqs", settings)
    url = queue_or_fail(sqs, settings.events_queue)
    state = producer.Sent()
    of = f"/{total}" if total else ""
    tick = _every_second(lambda: f"sent {state.sent}{of} (failed {state.failed})")

    def progress(sent: producer.Sent) -> None:
        state.sent, state.failed = sent.sent, sent.failed
        tick(sent)

    out = producer.send(sqs, url, bodies, batch_size, rate, progress)
    return {"sent": out.sent, "failed": out.failed, "errors": out.errors}


def _print_sent(result: dict) -> None:
    click.echo(json.dumps(result))
    if result["failed"]:
        raise Failure(f"{result['failed']} messages were refused by the queue: {'; '.join(result['errors'][:3])}")


@events.command()
@click.option("--count", type=click.IntRange(1), default=100, show_default=True, help="Messages to send.")
@click.option("--batch-size", type=click.IntRange(1, 10), default=10, show_default=True, help="Per SendMessageBatch.")
@click.option("--target-kb", type=click.IntRange(0, 1000), default=0, show_default=True,
              help="Pad each payload to about this size (0: as is); above ~300 they are kept in S3.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(0), default=0.0, show_default=True, help="Messages/s; 0: no limit.")
@click.option("--invalid-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Share invalid.")
@click.option("--large-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Share large orders.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed sends the same messages.")
@click.option("--kinds", "kinds", type=click.Choice(producer.KINDS), multiple=True,
              help="Only these entities (repeat the option; default: all, in the usual mix).")  # fmt: skip
@endpoint_option
def produce(
    count: int,
    batch_size: int,
    target_kb: int,
    rate: float,
    invalid_rate: float,
    large_rate: float,
    seed: int,
    kinds: tuple[str, ...],
    endpoint_url: str | None,
) -> None:
    """Send test traffic: a seeded mix of every entity's payloads. Prints {"sent", "failed", "errors"}."""
    settings = settings_for(endpoint_url)
    bodies = producer.payloads(count, seed, invalid_rate, large_rate, target_kb, kinds or producer.KINDS)
    with failures(settings):
        result = _send(settings, bodies, batch_size, rate, count)
    _print_sent(result)


@events.command()
@click.argument("file", type=click.File("rb"))
@click.option("--batch-size", type=click.IntRange(1, 10), default=10, show_default=True)
@endpoint_option
def send(file: io.BufferedReader, batch_size: int, endpoint_url: str | None) -> None:
    """Send FILE's lines, one payload per line, as they are ('-' reads stdin; blank lines are skipped).
    UTF-8 with or without its mark, or UTF-16 by its mark; lines end in LF, CRLF or CR. A line that
    is not valid is still sent: the consumer keeps it as an invalid record."""
    settings = settings_for(endpoint_url)
    too_long: list[int] = []
    try:
        lines_read = text.reader(file)
    except text.Undecodable as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None

    def lines() -> Iterator[str]:
        number = 0
        try:
            for number, line in enumerate(lines_read, start=1):
                body = line.rstrip("\r\n")
                if len(body.encode()) > producer.MAX_MESSAGE_BYTES:
                    too_long.append(number)
                elif body.strip():
                    yield body
        except UnicodeDecodeError as exc:
            raise click.ClickException(
                f"{file.name}: line {number + 1} is not {exc.encoding.upper()} text; the lines before it were sent"
            ) from None

    with failures(settings):
        result = _send(settings, lines(), batch_size, 0.0, None)
    if too_long:
        result["failed"] += len(too_long)
        result["errors"].append(f"lines {too_long[:10]} are above SQS's 1 MiB per message: not sent")
    _print_sent(result)


def _consume(settings: Settings, until_empty: bool, max_batches: int | None) -> dict:
    """Poll the queue into the real handler; the handler's EMF metrics go to stderr with -v."""
    from events import handler  # Powertools' parser and tracer: loaded by the commands that run it

    sqs = aws.client("sqs", settings)
    url = queue_or_fail(sqs, settings.events_queue)
    consumer = handler.consumer(settings)
    lambda_handler = handler.make_handler(lambda: consumer)
    seen = poller.Polled()
    tick = _every_second(lambda: f"consumed {seen.received} messages ({seen.failed} deliveries failed)")

    def progress(polled: poller.Polled) -> None:
        seen.received, seen.failed = polled.received, polled.failed
        tick(polled)

    verbose = bool((click.get_current_context().find_root().obj or {}).get("verbose"))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sys.stderr if verbose else sink):
        polled = poller.poll(sqs, url, lambda_handler, settings.region, until_empty, max_batches, progress)
    tally = consumer.tally.to_json()
    return {"received": polled.received, "failed_deliveries": polled.failed, **tally}


@events.command()
@click.option("--until-empty/--forever", default=True, show_default=True,
              help="Stop when the queue is empty, or keep polling (Ctrl-C ends it).")  # fmt: skip
@click.option("--max-batches", type=click.IntRange(1), default=None, help="Stop after this many batches.")
@output_option
@endpoint_option
def consume(until_empty: bool, max_batches: int | None, output: str, endpoint_url: str | None) -> None:
    """Consume the queue as the Lambda's event source mapping does: batches of up to 10 to the real
    handler, successes deleted, failures left for SQS to retry (and move to the DLQ after
    ECOMPIPE_MAX_RECEIVE_COUNT deliveries)."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        result = _consume(settings, until_empty, max_batches)
    if output == "json":
        click.echo(json.dumps(result))
        return
    rows = [("messages received", result["received"]), ("deliveries failed", result["failed_deliveries"])]
    rows += [(f"outcome {k}", v) for k, v in sorted(result["outcomes"].items())]
    rows += [(f"alert {k}", v) for k, v in sorted(result["alerts"].items())]
    render.pairs_table(stdout, "Consumed", rows)


def _stats(settings: Settings) -> dict:
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    sqs = aws.client("sqs", settings)
    dlq_url = queue_or_fail(sqs, settings.events_dlq)
    return event_stats.stats(settings, aws.client("dynamodb", settings), bucket, sqs, dlq_url)


def _print_stats(result: dict, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(result))
        return
    rows = [(f"table {k}", v) for k, v in result["tables"].items()]
    rows += [("invalid records", result["invalid"]), ("in the DLQ", result["dlq"])]
    rows += [(f"alerts {k}", v) for k, v in result["alerts"].items()]
    rows += [(f"messages {k}", v) for k, v in result.get("messages", {}).items()]  # demo: this run's
    render.pairs_table(stdout, "Events", rows)


@events.command()
@output_option
@endpoint_option
def stats(output: str, endpoint_url: str | None) -> None:
    """What the events workload holds: distinct entities per table, invalid records, the DLQ, alerts."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        result = _stats(settings)
    _print_stats(result, output)


@events.command()
@click.option("--limit", type=click.IntRange(1), default=None, help="Move at most this many.")
@endpoint_option
def redrive(limit: int | None, endpoint_url: str | None) -> None:
    """Move the DLQ's messages back to the queue (bodies and attributes unchanged). Safe to repeat or
    interrupt: a message leaves the DLQ only once the queue has it, and the consumer gives a message
    delivered twice one effect. Prints {"moved", "dlq_left"}."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        sqs = aws.client("sqs", settings)
        dlq, target = queue_or_fail(sqs, settings.events_dlq), queue_or_fail(sqs, settings.events_queue)
        moved = queues.redrive(sqs, dlq, target, limit, _every_second(lambda: "moving ..."))
        left = queues.depth(sqs, dlq)
    click.echo(json.dumps({"moved": moved, "dlq_left": left}))


@events.command()
@click.option("--count", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--invalid-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--large-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@output_option
@click.option("--endpoint-url", default=None, help="Use this endpoint instead of starting the embedded emulator.")
def demo(count: int, invalid_rate: float, large_rate: float, seed: int, output: str, endpoint_url: str | None) -> None:
    """Produce, consume and count on the embedded emulator: every message ends applied, invalid or
    in the DLQ, and the numbers say so."""
    settings = settings_for(endpoint_url)
    with failures(settings), contextlib.ExitStack() as stack:
        if settings.endpoint_url is None:
            settings = settings.with_endpoint(stack.enter_context(Emulator()))
        urls = init_events(settings)
        dlq_before = queues.depth(aws.client("sqs", settings), urls["dlq_url"])
        sent = _send(settings, producer.payloads(count, seed, invalid_rate, large_rate), 10, 0.0, count)
        consumed = _consume(settings, True, None)
        result = _stats(settings)
    outcomes = consumed["outcomes"]
    applied = sum(n for k, n in outcomes.items() if k != "invalid")
    messages = {"sent": sent["sent"], "applied": applied, "invalid": outcomes.get("invalid", 0)}
    messages["dlq"] = result["dlq"] - dlq_before
    _print_stats({**result, "messages": messages, "outcomes": outcomes}, output)
    balanced = messages["sent"] == messages["applied"] + messages["invalid"] + messages["dlq"]
    line = f"sent {messages['sent']} = applied {applied} + invalid {messages['invalid']} + dlq {messages['dlq']}"
    stderr.print(line if balanced else f"does not add up: {line}")
    if not balanced:
        raise Failure("messages were lost between the queue and the tables")


@events.command()
@endpoint_option
def land(endpoint_url: str | None) -> None:
    """Write the purchases the consumer stored since the last landing into incoming/ as one pair of
    seed-dialect files (orders_events_*.csv, order_items_events_*.csv), for the next batch; on AWS a
    scheduled Lambda does this. Prints {"purchases", "files", "missing"}; then `ecompipe start --wait`
    (or the trigger) runs them."""
    from events import landing

    settings = settings_for(endpoint_url)
    with failures(settings):
        bucket = Bucket(aws.client("s3", settings), settings.bucket)
        landed = landing.land(settings, aws.client("dynamodb", settings), bucket)
    click.echo(json.dumps(landed.to_json()))
    if not landed.purchases:
        stderr.print("no purchases waiting to be landed")


@events.command()
@endpoint_option
def summary(endpoint_url: str | None) -> None:
    """Publish what the consumer did over the last whole ECOMPIPE_SUMMARY_MINUTES on the alerts
    topic (once per interval; on AWS a scheduled Lambda does this) and print it."""
    from events import summary as summaries
    from events.outbox import Outbox

    settings = settings_for(endpoint_url)
    with failures(settings):
        bucket, sns = Bucket(aws.client("s3", settings), settings.bucket), aws.client("sns", settings)
        outbox = Outbox(bucket, sns, queues.topic_arn(sns, settings.alerts_topic))
        click.echo(json.dumps(summaries.summarise(settings, bucket, aws.client("sqs", settings), outbox)))


def init_events(settings: Settings) -> dict[str, str]:
    """The bucket and the events workload's tables, queues and topic (idempotent)."""
    Bucket(aws.client("s3", settings), settings.bucket).ensure(settings.region)
    return resources.ensure(
        settings, aws.client("dynamodb", settings), aws.client("sqs", settings), aws.client("sns", settings)
    )
