"""`ecompipe reprocess`: a past batch, the KPIs of dates, or pending/ again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click

from ecompipe.batch.leases import Leases
from ecompipe.batch.resources import Resources
from ecompipe.cli import render
from ecompipe.cli.common import (
    Failure,
    batch_id_param,
    batch_process,
    endpoint_option,
    failures,
    owner,
    parse_date,
    settings_for,
)
from ecompipe.cli.run import run_keys


@click.command()
@click.option(
    "--batch",
    "batch_id",
    default=None,
    callback=batch_id_param,
    help="Run a past batch again, as a new batch, from processed/ or rejected/.",
)
@click.option("--from", "date_from", default=None, help="Recompute the KPIs of a date range from curated/ ...")
@click.option("--to", "date_to", default=None, help="... up to this date (inclusive).")
@click.option("--pending", is_flag=True, help="Re-check the items held in pending/ now.")
@click.option("--dry-run", is_flag=True, help="Print what would happen; change nothing.")
@endpoint_option
@batch_process
def reprocess(
    batch_id: str | None,
    date_from: str | None,
    date_to: str | None,
    pending: bool,
    dry_run: bool,
    endpoint_url: str | None,
) -> None:
    """Re-run what went wrong: a past batch (--batch), the KPIs of dates (--from/--to), or pending/ (--pending).

    Works against the endpoint given (an emulator) or, without one, AWS. A batch goes through the
    normal path (lease, state machine); KPIs and pending items are processed here, under the lease.
    """
    modes = [
        m for m, on in (("--batch", batch_id), ("--from/--to", date_from or date_to), ("--pending", pending)) if on
    ]
    if len(modes) != 1:
        raise click.UsageError("give exactly one of --batch ID, --from D --to D, --pending")
    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        if batch_id:
            _batch_again(res, batch_id, dry_run)
        elif date_from or date_to:
            if not (date_from and date_to):
                raise click.UsageError("--from and --to go together")
            lo, hi = parse_date(date_from, "--from"), parse_date(date_to, "--to")
            assert lo and hi
            if lo > hi:
                raise click.UsageError(f"--from {lo} is after --to {hi}")
            _kpis_again(res, lo, hi, dry_run)
        else:
            _pending_again(res, dry_run)


def _batch_again(res: Resources, batch_id: str, dry_run: bool) -> None:
    """Put a past batch's files back into incoming/ and run them as a new batch."""
    from ecompipe.batch import reprocess as rp

    plan = rp.plan_batch(res, batch_id)
    for source, target in plan.copies:
        click.echo(f"{'would copy' if dry_run else 'copy'} {source} -> {target}")
    for key in plan.missing:
        click.echo(f"missing (skipped): {key}")
    if dry_run:
        click.echo(f"would run {len(plan.copies)} files as a new batch through the normal path")
        return
    keys = rp.put_back(res, plan)
    if res.settings.endpoint_url is None:
        # on AWS the upload events reach the trigger, which takes the files as a new batch
        click.echo(f"{len(keys)} files of {batch_id} are back in s3://{res.settings.bucket}/incoming/ for the trigger")
        return
    result = run_keys(res, keys)
    click.echo(render.summary_line(result.report, render.report_uri(res.settings.bucket, result.batch_id)))
    click.echo(f"batch {batch_id} ran again as {result.batch_id}")


def _kpis_again(res: Resources, lo: str, hi: str, dry_run: bool) -> None:
    """Recompute the KPIs of [lo, hi] from curated/ and rewrite them, under the lease."""
    from ecompipe.batch import reprocess as rp

    kpi_plan = rp.plan_kpis(res, lo, hi)
    verb = "would" if dry_run else "will"
    click.echo(
        f"{len(kpi_plan.dates)} dates in {lo}..{hi}: {verb} write {kpi_plan.to_write} items, "
        f"delete {kpi_plan.to_delete}, leave {kpi_plan.unchanged} unchanged"
    )
    if not dry_run:
        with _held_leases(res, f"reprocess-kpis-{lo}-{hi}", kpi_plan.dates):
            again = rp.plan_kpis(res, lo, hi)  # under the leases: no batch rebuilds these dates now
            if not set(again.dates) <= set(kpi_plan.dates):
                raise Failure(f"a batch added dates to {lo}..{hi} meanwhile; run the command again")
            written = rp.apply_kpis(res, again)
        click.echo(f"rewrote {written} KPI items")


def _pending_again(res: Resources, dry_run: bool) -> None:
    """Re-check the items held in pending/ now, under the lease."""
    from ecompipe.batch import reprocess as rp

    counts = rp.plan_pending(res)
    click.echo(
        f"pending: {counts['carried_in']} held; {counts['resolved']} would resolve, "
        f"{counts['expired']} would expire, {counts['still_pending']} would stay"
    )
    if not dry_run and counts["carried_in"]:
        manifest = rp.pending_manifest()
        patience = timedelta(seconds=res.settings.task_timeout_seconds / 2)
        result = rp.recheck_pending(res, manifest, Leases.of(res, manifest.batch_id, owner(), patience))
        click.echo(f"re-checked as {result.batch_id}: {json.dumps(result.report['pending'])}")


@contextmanager
def _held_leases(res: Resources, run_id: str, dates: list[str]) -> Iterator[None]:
    """Do something under the leases of `dates` and then the commit lease, taken in that order as a
    batch's commit takes them (ecompipe.batch.commit), so no batch rebuilds those dates or commits
    meanwhile; LockHeld at once when another run holds one."""
    leases = Leases.of(res, run_id, owner(), timedelta(0))
    try:
        leases.dates.hold(dates, timedelta(0))
        leases.commit.acquire(run_id, owner())
        yield
    finally:
        leases.release()


@click.command()
@endpoint_option
@batch_process
def migrate(endpoint_url: str | None) -> None:
    """Re-lay a curated store written before cells (one file per order date) in cells of date x
    bucket, with each date's KPIs recomputed from them. The first batch against such a store does
    this itself; run it beforehand to choose when. Idempotent: a store in cells is left as it is."""
    from ecompipe.batch import migrate as migration

    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        patience = timedelta(seconds=res.settings.task_timeout_seconds / 2)
        leases = Leases.of(res, f"migrate-{owner().replace(':', '-')}"[:60], owner(), patience)

        def progress(date: str, n: int, total: int) -> None:
            click.echo(f"  {n}/{total} {date}", err=True)

        done = migration.migrate(res, leases, progress)
    if not done["dates"]:
        click.echo("the curated store is in cells already: nothing to migrate")
        return
    click.echo(
        f"re-laid {done['dates']} dates ({done['orders']} orders, {done['items']} items) in cells; "
        f"KPI items that changed: {done['kpis_changed']}"
    )
