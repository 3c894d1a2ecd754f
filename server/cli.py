"""Operator commands: `flask demo`, `flask seed`, `flask audit verify`, `flask outbox ...`, `flask worker`,
`flask scheduler`, `flask events`."""

import json
import sys
import time
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from bot import menu as bot_menu
from casework import audit, audit_checkpoints, clock, events, seed, subscriptions
from casework.db import db
from casework.models import OutboxMessage
from server import jobs, processes
from server.extensions import worker_redis
from server.incident_cli import incident_cli
from supervision import evaluation_demo
from wechat.cli import wechat_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(wechat_cli)
    wechat_cli.add_command(bot_menu.menu_command)  # `flask wechat menu`: the menu's keys belong to the bot
    app.cli.add_command(events_command)
    app.cli.add_command(incident_cli)


class Moment(click.ParamType):
    """An ISO 8601 moment on the command line (`--now 2026-12-08T09:00:00+08:00`); without a zone, UTC."""

    name = "moment"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("events")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def events_command(as_json: bool):
    """List every domain event with its subscribers, and the periodic jobs."""
    app = current_app._get_current_object()
    listing = events.catalogue(app)
    sweeps = [{"name": s.name, "every_seconds": s.interval} for s in subscriptions.of(app).sweeps.values()]
    if as_json:
        click.echo(json.dumps({"events": listing, "periodic": sweeps}, ensure_ascii=False, indent=2))
        return
    for entry in listing:
        click.echo(f"{entry['event']}  ({', '.join(entry['payload'])})")
        for subscriber in entry["subscribers"]:
            click.echo(f"    -> {subscriber['job']}  [{subscriber['queue']}]  {subscriber['func']}")
        if not entry["subscribers"]:
            click.echo("    (no subscribers)")
    click.echo("periodic:")
    for sweep in sweeps:
        click.echo(f"    {sweep['name']}  every {sweep['every_seconds']} s")


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the category taxonomy and the case causes (idempotent)."""
    changed = seed.load_categories()
    click.echo(f"categories: {changed} changed")
    click.echo(f"case causes: {seed.load_causes()} added")


@click.command("demo")
@with_appcontext
def demo_command():
    """Seed the demo world: units, officers, categories, doorplates and incidents (idempotent)."""
    counts = seed.load_demo()
    evaluation_demo.load()
    _drain()
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo(f"console officers (/console/login), each with the password {seed.DEMO_PASSWORD}:")
    for line in seed.roster():
        click.echo(f"  {line}")


audit_cli = AppGroup("audit", help="The audit chain.")


@audit_cli.command("verify")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000), help="Entries per read.")
@click.option("--every", default=10.0, show_default=True, help="Seconds between progress lines (on stderr).")
def audit_verify(batch, every):
    """Walk the whole chain in constant memory, checking each entry's MAC and the chain against the checkpoints
    outside the database; exit 1 and name the first broken entry if any."""
    try:
        checkpoints = audit_checkpoints.read()
    except ValueError as exc:
        click.echo(f"BROKEN: {exc}", err=True)
        sys.exit(1)
    started = time.monotonic()
    shown = [started]

    def progress(walked: int) -> None:
        now = time.monotonic()
        if now - shown[0] >= every:
            shown[0] = now
            click.echo(f"... {walked} entries read, {_rate(walked, now - started)}", err=True)

    checked, broken = audit.verify(batch, progress=progress, checkpoints=checkpoints)
    elapsed = time.monotonic() - started
    if broken is not None:
        click.echo(f"BROKEN after {checked} good entries: {broken}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {checked} entries in {elapsed:.1f} s, {_rate(checked, elapsed)}")


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Write the chain's head (seq, hash) to a new write-once file under AUDIT_CHECKPOINT_DIR (and the log)."""
    written = audit_checkpoints.write(now=clock.now())
    if written is None:
        click.echo("nothing new to checkpoint")
    else:
        click.echo(f"audit checkpoint: seq={written[0]} hash={written[1]}")


def _rate(entries: int, seconds: float) -> str:
    return f"{entries / seconds:,.0f} entries/s" if seconds > 0 else "- entries/s"


outbox_cli = AppGroup("outbox", help="The job outbox.")


@outbox_cli.command("relay")
@click.option("--grace", default=0, show_default=True, help="Skip messages younger than this many seconds.")
@click.option(
    "--now",
    "now",
    type=Moment(),
    default=None,
    help="Relay as of this moment (ISO 8601; default: the clock), e.g. to re-send stale messages.",
)
def outbox_relay(grace: int, now: datetime | None):
    """Send pending outbox messages to the queue now."""
    sent = jobs.relay_pending(grace_seconds=grace, now=now)
    _drain()
    click.echo(f"relayed {sent} message(s)")


@outbox_cli.command("status")
def outbox_status():
    """Count pending, dispatched-not-done and failed messages."""

    def count(*where):
        return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*where))

    not_done = OutboxMessage.done_at.is_(None)
    click.echo(f"pending (not yet queued): {count(OutboxMessage.dispatched_at.is_(None), not_done)}")
    click.echo(f"queued, not done:        {count(OutboxMessage.dispatched_at.is_not(None), not_done)}")
    click.echo(f"with errors:             {count(OutboxMessage.last_error.is_not(None), not_done)}")
    click.echo(f"done:                    {count(OutboxMessage.done_at.is_not(None))}")


@click.command("worker")
@with_appcontext
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--no-fork",
    is_flag=True,
    help="Run jobs in this process instead of a forked child per job (several times the job rate).",
)
def worker_command(queues: str, burst: bool, no_fork: bool):
    """Run an rq worker (with rq's scheduler, so that retries with backoff happen) and its housekeeping."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: in-process mode runs jobs inside the web process")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    processes.run_worker(
        app,
        worker_redis(app),
        names,
        burst=burst,
        no_fork=no_fork,
        every=app.config["WORKER_HOUSEKEEPING_SECONDS"],
    )


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Enqueue the periodic sweeps (outbox relay, deadline sweeps) at their moments, each moment once."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: in-process mode runs sweeps on a timer")
    processes.run_scheduler(app, worker_redis(app))


def _drain() -> None:
    dispatcher = current_app.extensions["wx110.dispatcher"]
    if isinstance(dispatcher, jobs.InlineDispatcher):
        db.session.commit()  # end our transaction first: on SQLite it holds the lock the jobs need
        dispatcher.drain()
