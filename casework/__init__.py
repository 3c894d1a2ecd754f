"""The domain of wx110: incidents, their progress, evidence, chat and complaints."""

from flask import Flask

from casework import audit, audit_checkpoints, complaints, events, queue_marks, routing
from casework.events import Event


def init_app(app: Flask) -> None:
    """Subscribe the domain's own jobs: routing new incidents, routing complaints to the unit and supervision,
    and checkpointing the audit chain's head; mark the console's queue changed when incidents change.
    Refuses to start in production without audit keys."""
    with app.app_context():
        audit.key_ring()
    events.periodic(app, "audit.checkpoint", audit_checkpoints.sweep, every=app.config["AUDIT_CHECKPOINT_SECONDS"])
    events.periodic(app, "complaints.close_unrated", complaints.close_unrated, every=3600)
    events.subscribe(
        app,
        (Event.INCIDENT_REPORTED, Event.INCIDENT_LOCATED),
        routing.route_new_incident,
        job="incident.route",
        joins=True,
    )
    events.subscribe(app, Event.COMPLAINT_FILED, complaints.route_to_unit, job="complaint.route_to_unit")
    events.subscribe(app, Event.COMPLAINT_FILED, complaints.route_to_supervision, job="complaint.route_to_supervision")
    queue_marks.init_app(app)
