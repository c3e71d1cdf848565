"""What every command shares: the consoles, settings from the environment with a checked endpoint,
error handling (one line, exit 1), and the shared options."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ecompipe.aws.claims import Claim
from ecompipe.aws.lock import Lease, cli_owner
from ecompipe.cli import render
from ecompipe.core import layout
from ecompipe.core.dates import parse_day
from ecompipe.core.errors import EcompipeError, LayoutError
from ecompipe.core.memory import keep_freed_memory
from ecompipe.core.settings import Settings

DEFAULT_DATA = Path("sample_data/seed")


# piped output keeps whole values instead of squeezing tables into 80 columns
stdout = render.console(stderr=False)


stderr = render.console(stderr=True)


def settings_for(endpoint_url: str | None) -> Settings:
    """Settings from the environment; an explicit endpoint must answer (fail fast, not after retries)."""
    try:
        settings = Settings.from_env().with_endpoint(endpoint_url)
    except EcompipeError as exc:
        raise click.UsageError(str(exc)) from None
    if settings.endpoint_url and not _answers(settings.endpoint_url):
        raise Failure(
            f"nothing answers at {settings.endpoint_url}; start an emulator there (ecompipe emulator --port N) "
            "or leave out --endpoint-url / ECOMPIPE_ENDPOINT_URL to use the embedded one"
        )
    return settings


def _answers(endpoint_url: str) -> bool:
    from ecompipe.aws.clients import endpoint_answers  # (boto3: imported by the commands that reach AWS)

    return endpoint_answers(endpoint_url)


def parse_date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_day(value, name).isoformat()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


class Failure(click.ClickException):
    """A run that failed: message on stderr, exit 1."""

    exit_code = 1


class Refusal(click.ClickException):
    """A request refused for what it asks (a question not understood, a statement not allowed):
    the sentence on stderr, exit 2 like a usage error, but no usage banner, which is not the cause."""

    exit_code = 2


@contextmanager
def failures(settings: Settings | None = None) -> Iterator[None]:
    """Turn the errors a run can meet into one clear line and exit 1 (no traceback)."""
    where = f" at {settings.endpoint_url}" if settings and settings.endpoint_url else ""
    try:
        yield
    except EcompipeError as exc:
        raise Failure(str(exc)) from None
    except NoCredentialsError:
        raise Failure(
            "no AWS credentials found: configure AWS, or use --endpoint-url / the embedded emulator"
        ) from None
    except EndpointConnectionError as exc:
        raise Failure(f"cannot reach AWS{where}: {exc}") from None
    except ClientError as exc:
        raise Failure(f"AWS refused a request{where}: {exc}") from None
    except BotoCoreError as exc:
        raise Failure(f"AWS client error{where}: {exc}") from None


endpoint_option = click.option(
    "--endpoint-url", default=None, help="AWS endpoint (an emulator); default: ECOMPIPE_ENDPOINT_URL, else AWS."
)


workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="How many ECS tasks the local runner runs at once (the Map's concurrency, at most "
    "ECOMPIPE_FAN_OUT_CONCURRENCY): a batch that fans out (ECOMPIPE_FAN_OUT_MIN_MB) parses its files and "
    "transforms its groups of dates (or pieces of a heavy date's cells), one group per worker, side by side.",
)


P = ParamSpec("P")
R = TypeVar("R")


def batch_process(command: Callable[P, R]) -> Callable[P, R]:
    """A command that does one batch's work in its own process, then ends: its malloc keeps what
    it frees (ecompipe.core.memory). Put it under the command's options."""

    @functools.wraps(command)
    def kept(*args: P.args, **kwargs: P.kwargs) -> R:
        keep_freed_memory()
        return command(*args, **kwargs)

    return kept


def batch_id_param(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Batch ids become key parts: refuse anything that would leave the bucket layout."""
    try:
        return None if value is None else layout.check_batch_id(value)
    except LayoutError as exc:
        raise click.BadParameter(str(exc)) from None


def say_waiting(holder: Lease | Claim | None) -> None:
    """Told once when a run waits: for another sweep, for a run that took the same files, or for
    the commit lease of a batch committing."""
    from trigger.sweep import SWEEP_PREFIX  # (the trigger's code: imported by the commands that run batches)

    if holder is None:
        stderr.print("waiting for the lease", style="yellow")
    elif isinstance(holder, Claim):
        stderr.print(f"waiting for run {holder.run_id} ({holder.owner}) to finish with the same files", style="yellow")
    elif holder.run_id.startswith(SWEEP_PREFIX):
        stderr.print(f"waiting for another command ({holder.owner}) to finish taking its files", style="yellow")
    else:
        stderr.print(f"waiting for run {holder.run_id} ({holder.owner}) to release the lease", style="yellow")


def owner() -> str:
    return cli_owner()


def queue_or_fail(sqs: Any, name_or_url: str) -> str:
    """A queue's URL, or one line saying how to create it (exit 1)."""
    from events import queues

    try:
        return queues.queue_url(sqs, name_or_url)
    except sqs.exceptions.QueueDoesNotExist:
        raise Failure(f"the queue {name_or_url} does not exist here: create it with `ecompipe init`") from None
