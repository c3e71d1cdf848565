"""The ecompipe command line: this module only composes the command groups (ecompipe/cli/*.py).
Results go to stdout; progress and logs to stderr.

Exit codes: 0 success (even when rows were rejected), 1 the run failed, 2 usage errors.
"""

from __future__ import annotations

import signal
import threading

import click

from ecompipe.cli import events, feeds, leases, ops, questions, reprocess, run, sales, start, tools


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (
    run.run,
    ops.init,
    ops.kpis,
    leases.status,
    leases.unlock,
    ops.runs,
    ops.report,
    start.start,
    reprocess.reprocess,
    reprocess.migrate,
    tools.emulator,
    tools.validate,
    tools.generate,
    tools.serve,
    tools.task_command,
    events.events,
    sales.sales,
    questions.sql,
    questions.ask,
    feeds.problems,
    feeds.alerts,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
