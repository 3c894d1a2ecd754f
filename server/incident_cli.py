"""`flask incident status`: an officer's action on an incident from outside the web process (operators, scripts).

What it changes reaches the citizen like any other change: the outbox row it commits is run by this process, or,
if the process ends first, by the web process's relay within seconds (in-process mode) or by a worker.
"""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from casework import incidents
from casework.db import db
from casework.errors import DomainError
from casework.models import Incident, Officer
from casework.status import IncidentStatus

incident_cli = AppGroup("incident", help="Act on an incident as an officer.")


@incident_cli.command("status")
@click.argument("number")
@click.argument("status", type=click.Choice([s.value for s in IncidentStatus]))
@click.option("--officer", "badge_no", required=True, help="badge number of the officer acting")
@click.option("--note", default=None, help="public note the citizen reads")
def change_status(number: str, status: str, badge_no: str, note: str | None) -> None:
    """Move incident NUMBER to STATUS as the officer with badge --officer."""
    officer = db.session.scalar(select(Officer).where(Officer.badge_no == badge_no))
    incident = db.session.scalar(select(Incident).where(Incident.number == number))
    if officer is None:
        raise click.UsageError(f"no officer with badge {badge_no}")
    if incident is None:
        raise click.UsageError(f"no incident {number}")
    try:
        incidents.change_status(incident=incident, actor=officer, status=IncidentStatus(status), public_note=note)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{number}: {IncidentStatus(status).label}")
