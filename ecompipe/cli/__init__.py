"""The ecompipe command line: this module only composes the command groups (ecompipe/cli/*.py).
Results go to stdout; progress and logs to stderr.

Exit codes: 0 success (even when rows were rejected), 1 the run failed, 2 usage errors.
"""

from __future__ import annotations

import importlib
import signal
import threading

import click

# each command by its module (ecompipe/cli/<module>.py) and function: a command imports what it
# needs when it runs, so `ecompipe validate` does not load the AWS, the emulator and the others first
COMMANDS = {
    "run": "run:run",
    "init": "ops:init",
    "kpis": "ops:kpis",
    "status": "leases:status",
    "unlock": "leases:unlock",
    "runs": "ops:runs",
    "report": "ops:report",
    "start": "start:start",
    "reprocess": "reprocess:reprocess",
    "migrate": "reprocess:migrate",
    "emulator": "tools:emulator",
    "validate": "tools:validate",
    "generate": "tools:generate",
    "serve": "tools:serve",
    "task": "tools:task_command",
    "events": "events:events",
    "sales": "sales:sales",
    "sql": "questions:sql",
    "ask": "questions:ask",
    "problems": "feeds:problems",
    "alerts": "feeds:alerts",
}


class _Commands(click.Group):
    """The command group, each command loaded from its module when it is named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name].split(":")
        return getattr(importlib.import_module(f"ecompipe.cli.{module}"), name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecompipe")
@click.option("-v", "--verbose", is_flag=True, help="Show the stages' structured logs (stderr).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """ecompipe: e-commerce CSV batches -> validated, curated data -> exact KPIs in DynamoDB; and
    real-time events (SQS) -> validated entities, alerts (ecompipe events); questions over the data
    (ecompipe sql, ecompipe ask)."""
    from ecompipe.core.observability import set_level

    ctx.ensure_object(dict)["verbose"] = verbose
    set_level("INFO" if verbose else "WARNING")
    # SIGTERM ends a command the way Ctrl-C does: its cleanup (stopping its execution, freeing its
    # lease) runs instead of the process vanishing mid-run
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
