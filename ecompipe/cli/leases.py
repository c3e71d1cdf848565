"""Who holds what: the commit lease, the date leases and the running batches' claims (status), and
freeing those of runs that are gone (unlock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from ecompipe.aws.claims import Claim, Claims, claimed_keys, holder_alive
from ecompipe.aws.date_leases import date_leases, describe
from ecompipe.aws.lock import Lease, owner_alive
from ecompipe.batch.resources import Resources
from ecompipe.cli import render
from ecompipe.cli.common import Failure, endpoint_option, failures, settings_for, stdout
from ecompipe.core import layout


@click.command()
@click.option(
    "--runs", "last", type=click.IntRange(0, 100), default=5, show_default=True, help="How many recent batches."
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@endpoint_option
def status(last: int, output: str, endpoint_url: str | None) -> None:
    """The commit lease's holder and its age, the date leases of committing batches, the running
    batches' claims on their files, pending files against the thresholds, and the last batches."""
    from ecompipe.batch.history import recent_batches
    from trigger.decision import decide
    from trigger.sweep import incoming

    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        now = datetime.now(UTC)
        lease = res.leases().current()
        dates = date_leases(res.leases())
        claims = Claims(res.leases()).all()
        waiting = incoming(res.bucket, claimed_keys(claims, now))
        files = waiting.ready
        decision = decide(files, res.bucket.exists(layout.CURATED_PRODUCTS_KEY), settings, now)
        batches = recent_batches(res.bucket, last)
    doc = {
        "lease": None if lease is None else _lease_doc(lease, now, claims),
        "date_leases": [
            {"date": d, **({"part": p} if p else {}), "held": describe((d, p)), **_lease_doc(held, now, claims)}
            for (d, p), held in sorted(dates.items())
        ],
        "claims": [_claim_doc(c, now) for c in claims],
        "pending": {
            "files": len(files),
            # later uploads of a name wait for the earlier one (or for the run that holds the name)
            "waiting": [{"key": u.key, "version_id": u.version_id, "why": why} for u, why in waiting.waiting],
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
    _print_date_leases(doc["date_leases"])
    _print_claims(doc["claims"])
    click.echo(f"pending: {len(files)} files not claimed; {decision.reason}")
    if waiting.waiting:
        click.echo(f"waiting: {len(waiting.waiting)} uploads behind an earlier one of their name or a running batch")
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


def _print_date_leases(held: list[dict]) -> None:
    """One line per run holding date leases: which dates, since when, until when."""
    by_run: dict[str, list[dict]] = {}
    for lease in held:
        by_run.setdefault(lease["run_id"], []).append(lease)
    for run_id, leases in by_run.items():
        first, dates = leases[0], [lease["held"] for lease in leases]
        state = "EXPIRED" if any(lease["expired"] for lease in leases) else "live"
        shown = ", ".join(dates[:5]) + (f" and {len(dates) - 5} more" if len(dates) > 5 else "")
        click.echo(
            render.literal(
                f"date leases: {state}, run {run_id} ({first['owner']}) holds {len(dates)} date(s): {shown}; "
                f"{first['age_minutes']} min old, expires {first['expires_at']}"
            )
        )
        if first["owner_alive"] is False and state == "live":
            click.echo("  its process is gone (killed?): `ecompipe unlock --force` frees them now")


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Also remove live leases (commit, dates) and live claims (only when their runs are known to be dead).",
)
@endpoint_option
def unlock(force: bool, endpoint_url: str | None) -> None:
    """Remove the commit lease, the date leases and the claims of runs that are gone. An expired one,
    one whose process on this machine is gone, or a date lease whose run ended goes without --force;
    a live one needs it."""
    settings = settings_for(endpoint_url)
    with failures(settings):
        res = Resources.from_settings(settings)
        leases = res.leases()
        now = datetime.now(UTC)
        freed = _unlock_claims(Claims(leases), now, force)
        _unlock_dates(res, now, force)
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


def _unlock_dates(res: Resources, now: datetime, force: bool) -> None:
    """Release the date leases that are expired, whose process is gone, whose run the ledger says
    ended, or (force) all; say which."""
    from ecompipe.batch.leases import ended_runs

    ended = ended_runs(res)
    for unit, lease in sorted(date_leases(res.leases()).items()):
        gone = lease.is_expired(now) or owner_alive(lease.owner) is False or ended(lease)
        if gone or force:
            if res.leases().other(layout.date_lock_key(*unit)).release(lease):
                click.echo(render.literal(f"released the lease of run {lease.run_id} on {describe(unit)}"))
        else:
            click.echo(
                render.literal(
                    f"kept the live lease of run {lease.run_id} on {describe(unit)}: --force if that run is dead"
                )
            )


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
