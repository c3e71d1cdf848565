"""Looking at a pipeline: its bucket and tables (init), the lease (status, unlock), the KPIs, the runs
and their reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from ecompipe.aws.claims import Claim, Claims, claimed_keys, holder_alive
from ecompipe.aws.lock import Lease, owner_alive
from ecompipe.batch.pipeline import Resources
from ecompipe.cli import render
from ecompipe.cli.common import (
    Failure,
    batch_id_param,
    endpoint_option,
    failures,
    parse_date,
    settings_for,
    stdout,
)
from ecompipe.cli.events import init_events
from ecompipe.core import kpis as kpi_model
from ecompipe.core import layout
from ecompipe.core.statuses import RUN_STATUSES


@click.command()
@endpoint_option
def init(endpoint_url: str | None) -> None:
    """Create the bucket, the KPI and run tables, and the events workload's tables, queues and topic
    if missing (idempotent)."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        Resources.from_settings(settings).init()
        urls = init_events(settings)
    click.echo(f"bucket {settings.bucket}, tables {settings.order_table} and {settings.category_table} ready")
    click.echo(f"events: queue {urls['queue_url']} (DLQ {urls['dlq_url']}), alerts {urls['topic_arn']} ready")


@click.command()
@click.option("--date", "on_date", default=None, help="One order date (YYYY-MM-DD).")
@click.option("--from", "date_from", default=None, help="First order date (inclusive).")
@click.option("--to", "date_to", default=None, help="Last order date (inclusive).")
@click.option("--category", default=None, help="Only this category (category KPIs).")
@click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@endpoint_option
def kpis(
    on_date: str | None,
    date_from: str | None,
    date_to: str | None,
    category: str | None,
    output: str,
    endpoint_url: str | None,
) -> None:
    """Print the stored KPIs, optionally for a date or a date range and one category."""
    if on_date and (date_from or date_to):
        raise click.UsageError("give either --date or --from/--to, not both")
    date_from = parse_date(on_date or date_from, "--from")
    date_to = parse_date(on_date or date_to, "--to")
    if date_from and date_to and date_from > date_to:
        raise click.UsageError(f"--from {date_from} is after --to {date_to}")
    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        orders = res.kpis.order_kpis(date_from, date_to)
        categories = res.kpis.category_kpis(date_from, date_to, category)
    if category is not None:
        orders = []  # order KPIs have no category
    if output == "json":
        click.echo(kpi_model.kpis_json(orders, categories))
    elif output == "csv":
        click.echo(kpi_model.kpis_csv(orders, categories), nl=False, color=True)  # data: never strip bytes
    else:
        render.kpi_tables(stdout, orders, categories)


@click.command()
@click.option(
    "--runs", "last", type=click.IntRange(0, 100), default=5, show_default=True, help="How many recent batches."
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def status(last: int, output: str, endpoint_url: str | None) -> None:
    """The commit lease's holder and its age, the running batches' claims on their files, pending
    files against the thresholds, and the last batches."""
    from ecompipe.batch.history import recent_batches
    from trigger.decision import decide
    from trigger.sweep import pending_files

    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        now = datetime.now(UTC)
        lease = res.leases().current()
        claims = Claims(res.leases()).all()
        files = pending_files(res.bucket, claimed_keys(claims, now))
        decision = decide(files, res.bucket.exists(layout.CURATED_PRODUCTS_KEY), settings, now)
        batches = recent_batches(res.bucket, last)
    doc = {
        "lease": None if lease is None else _lease_doc(lease, now, claims),
        "claims": [_claim_doc(c, now) for c in claims],
        "pending": {
            "files": len(files),
            "orders": decision.counts.orders,
            "order_items": decision.counts.order_items,
            "products": decision.counts.products,
            "other": decision.counts.other,
            "thresholds": {
                "orders": settings.min_order_files,
                "order_items": settings.min_item_files,
                "products": settings.min_product_files,
                "force_after_minutes": settings.force_after_minutes,
            },
            "would_start": decision.start,
            "reason": decision.reason,
        },
        "last_batches": batches,
    }
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    _print_lease(doc["lease"])
    _print_claims(doc["claims"])
    click.echo(f"pending: {len(files)} files not claimed; {decision.reason}")
    render.batches_table(stdout, batches)


def _lease_doc(lease: Lease, now: datetime, claims: list[Claim]) -> dict:
    return {
        "run_id": lease.run_id,
        "owner": lease.owner,
        "acquired_at": lease.acquired_at.isoformat(),
        "age_minutes": round(lease.age(now).total_seconds() / 60, 1),
        "expires_at": lease.expires_at.isoformat(),
        "expired": lease.is_expired(now),
        "owner_alive": holder_alive(lease, claims),
    }


def _claim_doc(claim: Claim, now: datetime) -> dict:
    return {
        "run_id": claim.run_id,
        "batch_id": claim.batch_id,
        "owner": claim.owner,
        "files": len(claim.keys),
        "expires_at": claim.expires_at.isoformat(),
        "expired": claim.is_expired(now),
        "owner_alive": owner_alive(claim.owner),
    }


def _print_claims(claims: list[dict]) -> None:
    if not claims:
        click.echo("running batches: none (no files claimed)")
    for c in claims:
        state = "EXPIRED" if c["expired"] else "live"
        click.echo(
            render.literal(
                f"claim: {state}, run {c['run_id']} ({c['owner']}) holds {c['files']} files, expires {c['expires_at']}"
            )
        )
        if c["owner_alive"] is False and not c["expired"]:
            click.echo("  its process is gone (killed?): `ecompipe unlock` frees its files now")


def _print_lease(held: dict | None) -> None:
    if held is None:
        click.echo("lease: free")
    else:
        state = "EXPIRED" if held["expired"] else "live"
        click.echo(
            render.literal(
                f"lease: {state}, run {held['run_id']} ({held['owner']}), {held['age_minutes']} min old, "
                f"expires {held['expires_at']}"
            )
        )
        if held["owner_alive"] is False and not held["expired"]:
            click.echo(
                "  its process is gone (killed?): `ecompipe unlock --force` frees the lease now; "
                "otherwise it expires by itself (docs/operations.md, recovery)"
            )


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Also remove a live commit lease and live claims (only when their runs are known to be dead).",
)
@endpoint_option
def unlock(force: bool, endpoint_url: str | None) -> None:
    """Remove the commit lease and the claims of runs that are gone. An expired one, or a claim whose
    process on this machine is gone, goes without --force; a live one needs it."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        leases = Resources.from_settings(settings).leases()
        now = datetime.now(UTC)
        freed = _unlock_claims(Claims(leases), now, force)
        lease = leases.current()
        if lease is None:
            click.echo("no commit lease is held" + (f"; freed {freed} claim(s)" if freed else ""))
            return
        if not lease.is_expired(now) and not force:
            raise Failure(
                f"the lease of run {lease.run_id} ({lease.owner}) is live: "
                f"{lease.age(now).total_seconds() / 60:.0f} min old, expires {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC. "
                "Use --force only if that run is dead."
            )
        if not leases.release(lease):
            raise Failure("the lease changed while unlocking (another run took it); nothing removed")
    click.echo(f"removed the {'expired' if lease.is_expired(now) else 'live'} lease of run {lease.run_id}")


def _unlock_claims(claims: Claims, now: datetime, force: bool) -> int:
    """Release the claims that are expired, whose process is gone, or (force) all; say which."""
    freed = 0
    for claim in claims.all():
        if claim.is_expired(now) or owner_alive(claim.owner) is False or force:
            if claims.release(claim):
                freed += 1
                click.echo(render.literal(f"released the claim of run {claim.run_id} on {len(claim.keys)} files"))
        else:
            click.echo(
                render.literal(
                    f"kept the live claim of run {claim.run_id} ({claim.owner}): --force if that run is dead"
                )
            )
    return freed


@click.command()
@click.option(
    "--status", "status_filter", default=None, help=f"Only runs with this status ({', '.join(RUN_STATUSES)})."
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def runs(status_filter: str | None, limit: int, output: str, endpoint_url: str | None) -> None:
    """Run history from the ledger (PipelineRuns), newest first."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        history = Resources.from_settings(settings).ledger.recent(
            limit, status_filter.upper() if status_filter else None
        )
    if output == "json":
        click.echo(json.dumps(history, indent=2, default=str))
    else:
        render.runs_table(stdout, history)


@click.command()
@click.argument("batch_id", callback=batch_id_param)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def report(batch_id: str, output: str, endpoint_url: str | None) -> None:
    """A batch's validation report: a table per file with its reasons and examples, or raw JSON."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        doc = Resources.from_settings(settings).bucket.get_json(layout.report_key(batch_id))
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
    else:
        render.report_tables(stdout, doc)
