"""Operator commands: `flask calendar import <file>`, `flask calendar show YEAR [--json]`,
`flask supervision sweep --now <ISO>`,
`flask supervision warnings --json [--colour C] [--unit CODE]`."""

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from casework import clock
from casework.models import System
from supervision import board, calendar, calendar_import, statutory, sweep
from supervision.calendar import CalendarFileError
from supervision.models import Colour

calendar_cli = AppGroup("calendar", help="The holiday calendar (法定节假日与调休).")
supervision_cli = AppGroup("supervision", help="The supervision engine: sweep and warnings.")


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@calendar_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calendar_import_command(path: Path):
    """Load one year of holidays and make-up working days (CSV `date,kind,name` or JSON); all or nothing.
    Every open deadline counted provisionally through that year is counted again; what moved is printed."""
    try:
        imported = calendar_import.import_year(
            content=path.read_text(encoding="utf-8"), source=path.name, actor=System("cli")
        )
    except CalendarFileError as refused:
        for problem in refused.problems:
            click.echo(problem, err=True)
        click.echo("nothing was loaded", err=True)
        sys.exit(1)
    year = imported.year
    holidays = sum(1 for _, kind, _ in year.days if kind == "holiday")
    click.echo(
        f"calendar {year.year}: {holidays} holiday(s), {len(year.days) - holidays} make-up working day(s) loaded; "
        f"{len(imported.moved)} deadline(s) moved"
    )
    for moved in imported.moved:
        after = _beijing(moved.after)
        still = " (still provisional)" if moved.provisional else ""
        click.echo(f"  {moved.what} {moved.field}: {_beijing(moved.before)} -> {after}{still}")


def _beijing(moment: datetime | None) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


@calendar_cli.command("show")
@click.argument("year", type=click.IntRange(1901, 2099))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def calendar_show_command(year: int, as_json: bool):
    """List a year's holidays and worked weekends, and whether the year is official or provisional."""
    current = calendar.current()
    source = current.source(year)
    days = current.special_days(year)
    document = {
        "year": year,
        "source": source.value,
        "official": source.official,
        "provisional": not source.official,
        "basis": statutory.BASIS if not source.official else None,
        "holidays": [{"date": d.isoformat(), "name": name} for d, kind, name in days if kind == "holiday"],
        "workdays": [{"date": d.isoformat(), "name": name} for d, kind, name in days if kind == "workday"],
        # every statutory holiday day of a provisional year, weekends included (its rest days are listed above)
        "statutory": [{"date": d.isoformat(), "name": name} for d, name in statutory.provisional_year(year).holidays]
        if not source.official
        else [],
    }
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    click.echo(f"{year}: {source.label}")
    if not source.official:
        click.echo("  provisional: the statutory holidays alone; make-up working days (调休) are unknown until the")
        click.echo("  year's notice is loaded with `flask calendar import`")
    for d, kind, name in days:
        click.echo(f"  {d.isoformat()} {'休' if kind == 'holiday' else '班'} {name}")


@supervision_cli.command("sweep")
@click.option("--now", "now", default=None, help="Sweep as of this moment (ISO 8601; default: the clock).")
def sweep_command(now: str | None):
    """Run one supervision sweep."""
    result = sweep.sweep(now=_moment(now))
    click.echo(str(result))


@supervision_cli.command("warnings")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--colour", type=click.Choice([c.value for c in Colour]), default=None)
@click.option("--unit", "unit_code", default=None, help="Only this unit's warnings (its code).")
@click.option("--open", "open_only", is_flag=True, help="Only warnings not yet resolved.")
def warnings_command(as_json: bool, colour: str | None, unit_code: str | None, open_only: bool):
    """List warnings, newest first."""
    rows = [
        board.as_dict(w)
        for w in board.listing(None, board.Filters(colour=colour, unit_code=unit_code, open_only=open_only))
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"#{row['id']} {row['colour']:<6} {row['point']:<26} {row['subject_type']} {row['subject_number']} "
            f"unit={row['unit']} raised={row['raised_at']} due={row['due_at']} resolved={row['resolved_at']}"
        )
