"""The catalogue of domain events, publishing them, and subscribing jobs to them.

Every state change publishes one event from `Event`. `publish` writes one outbox row per subscribed job in the
current transaction, so a subscriber runs only if the change commits, and at least once if it does. Packages
subscribe explicitly in their `init_app`:

    events.subscribe(app, Event.INCIDENT_REPORTED, routing.route_new_incident, job="incident.route")

A job name is what an outbox row stores, so it never changes once rows carry it. Publishing a name outside the
catalogue, a payload that does not match the event's fields, or registering a job name twice is an error.
"""

from collections.abc import Callable, Iterable
from enum import StrEnum

from flask import Flask

from casework import outbox, subscriptions
from casework.subscriptions import Job, Sweep


class Event(StrEnum):
    INCIDENT_REPORTED = "incident.reported"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    INCIDENT_RECATEGORISED = "incident.recategorised"
    INCIDENT_LOCATED = "incident.located"
    INCIDENT_ASSIGNED = "incident.assigned"
    INCIDENT_RATED = "incident.rated"
    EVIDENCE_ADDED = "evidence.added"
    EVIDENCE_STORED = "evidence.stored"
    EVIDENCE_FAILED = "evidence.failed"
    CHAT_MESSAGE_ADDED = "chat.message_added"
    COMPLAINT_FILED = "complaint.filed"
    COMPLAINT_ROUTED = "complaint.routed"
    COMPLAINT_ACCEPTED = "complaint.accepted"
    COMPLAINT_EXPLANATION_REQUESTED = "complaint.explanation_requested"
    COMPLAINT_EXPLAINED = "complaint.explained"
    COMPLAINT_VERDICT_GIVEN = "complaint.verdict_given"
    COMPLAINT_ANSWERED = "complaint.answered"
    COMPLAINT_RATED = "complaint.rated"
    COMPLAINT_REOPENED = "complaint.reopened"
    COMPLAINT_CLOSED = "complaint.closed"
    CASE_OPENED = "case.opened"
    CASE_STAGE_CHANGED = "case.stage_changed"
    CASE_CAUSE_CHANGED = "case.cause_changed"
    CASE_TYPE_CHANGED = "case.type_changed"
    CAUSE_LIST_CHANGED = "cause.list_changed"
    MEASURE_STARTED = "measure.started"
    MEASURE_EXTENDED = "measure.extended"
    MEASURE_APPROVED = "measure.approved"
    MEASURE_ENDED = "measure.ended"
    PROPERTY_SEIZED = "property.seized"
    PROPERTY_MOVED = "property.moved"
    MATERIAL_ADDED = "material.added"
    DOORPLATES_CREATED = "doorplates.created"
    DOORPLATES_UPDATED = "doorplates.updated"
    DOORPLATE_REVOKED = "doorplate.revoked"
    DOORPLATE_MOVED = "doorplate.moved"
    CATEGORY_CHANGED = "category.changed"
    CALENDAR_IMPORTED = "calendar.imported"
    CLOCK_EXTENDED = "clock.extended"
    WARNING_RAISED = "warning.raised"
    WARNING_RECTIFIED = "warning.rectified"
    WARNING_RESOLVED = "warning.resolved"
    NOTIFICATION_DUE = "notification.due"
    MONITORING_POINT_CHANGED = "monitoring_point.changed"
    EVALUATION_STANDARD_CHANGED = "evaluation.standard_changed"
    EVALUATION_PLAN_CREATED = "evaluation.plan_created"
    EVALUATION_TASK_ASSIGNED = "evaluation.task_assigned"
    EVALUATION_TASK_EXTENDED = "evaluation.task_extended"
    EVALUATION_TASK_SUBMITTED = "evaluation.task_submitted"
    EVALUATION_FINDING_APPEALED = "evaluation.finding_appealed"
    EVALUATION_APPEAL_REVIEWED = "evaluation.appeal_reviewed"
    EVALUATION_FINDING_CONFIRMED = "evaluation.finding_confirmed"
    EVALUATION_RECTIFICATION_RECORDED = "evaluation.rectification_recorded"
    EVALUATION_RECTIFICATION_ACCEPTED = "evaluation.rectification_accepted"
    UNIT_CHANGED = "unit.changed"


# What each event carries: ids only (a subscriber loads fresh state), plus what says which change it was.
PAYLOAD: dict[Event, tuple[str, ...]] = {
    Event.INCIDENT_REPORTED: ("incident_id",),
    Event.INCIDENT_STATUS_CHANGED: ("incident_id", "timeline_entry_id"),
    Event.INCIDENT_RECATEGORISED: ("incident_id", "timeline_entry_id"),
    Event.INCIDENT_LOCATED: ("incident_id",),
    Event.INCIDENT_ASSIGNED: ("incident_id", "unit_id"),
    Event.INCIDENT_RATED: ("incident_id",),
    Event.EVIDENCE_ADDED: ("attachment_id",),
    Event.EVIDENCE_STORED: ("attachment_id",),
    Event.EVIDENCE_FAILED: ("attachment_id",),
    Event.CHAT_MESSAGE_ADDED: ("chat_message_id",),
    Event.COMPLAINT_FILED: ("complaint_id",),
    Event.COMPLAINT_ROUTED: ("complaint_id", "destination"),
    Event.COMPLAINT_ACCEPTED: ("complaint_id", "officer_id", "review"),
    Event.COMPLAINT_EXPLANATION_REQUESTED: ("complaint_id", "unit_id", "due_at"),  # due_at: ISO 8601, UTC
    Event.COMPLAINT_EXPLAINED: ("complaint_id",),
    Event.COMPLAINT_VERDICT_GIVEN: ("complaint_id", "verdict"),
    Event.COMPLAINT_ANSWERED: ("complaint_id",),
    Event.COMPLAINT_RATED: ("complaint_id",),
    Event.COMPLAINT_REOPENED: ("complaint_id", "review"),  # review: 2, the second (and last) one
    Event.COMPLAINT_CLOSED: ("complaint_id", "review"),
    Event.CASE_OPENED: ("case_id",),  # an incident was accepted: its case exists
    Event.CASE_STAGE_CHANGED: ("case_id", "stage"),  # filed / not filed, investigation, transferred, concluded
    Event.CASE_CAUSE_CHANGED: ("case_id", "change_id"),
    # its incident's new category is of the other type (criminal / public order), while the case was only accepted
    Event.CASE_TYPE_CHANGED: ("case_id", "timeline_entry_id"),
    Event.CAUSE_LIST_CHANGED: ("cause_id",),  # an admin added, renamed, (de)activated or deleted a cause (案由)
    Event.MEASURE_STARTED: ("measure_id",),  # a compulsory measure began (also the new one of a change)
    Event.MEASURE_EXTENDED: ("measure_id", "step_id"),  # its term moved (with or without its approval yet)
    Event.MEASURE_APPROVED: ("measure_id", "step_id"),  # an extension recorded without approval got it
    Event.MEASURE_ENDED: ("measure_id",),  # ended, or changed into another measure
    Event.PROPERTY_SEIZED: ("item_id",),
    Event.PROPERTY_MOVED: ("item_id", "movement_id"),  # stored, taken out, returned, transferred, disposed of
    Event.MATERIAL_ADDED: ("material_id",),
    Event.DOORPLATES_CREATED: ("doorplate_ids",),  # an import publishes one per batch of new doorplates
    Event.DOORPLATES_UPDATED: ("doorplate_ids",),
    Event.DOORPLATE_REVOKED: ("doorplate_id",),
    Event.DOORPLATE_MOVED: ("doorplate_id", "to_doorplate_id"),
    Event.CATEGORY_CHANGED: ("category_id",),  # created, edited, (de)activated, by an admin or by the seed
    Event.CALENDAR_IMPORTED: ("year",),  # an operator loaded (or replaced) a year of holidays and make-up days
    Event.CLOCK_EXTENDED: ("clock_id",),  # an approved extension moved a deadline
    Event.WARNING_RAISED: ("warning_id",),  # blue, yellow or red, by the supervision sweep
    Event.WARNING_RECTIFIED: ("warning_id",),  # the officer said what was done (the sweep checks it)
    Event.WARNING_RESOLVED: ("warning_id",),  # the sweep found the condition gone
    Event.NOTIFICATION_DUE: ("notification_id",),  # a WeChat or SMS notice of a warning to one officer
    Event.MONITORING_POINT_CHANGED: ("point_id",),  # an admin turned a point on or off or changed its parameters
    Event.EVALUATION_STANDARD_CHANGED: ("standard_id",),  # a new version: imported, or an admin's edit
    Event.EVALUATION_PLAN_CREATED: ("plan_id",),
    Event.EVALUATION_TASK_ASSIGNED: ("task_id", "evaluator_id"),  # a drawn (or reassigned) case sent to an inbox
    Event.EVALUATION_TASK_EXTENDED: ("task_id",),  # the organiser moved a task's scoring deadline
    Event.EVALUATION_TASK_SUBMITTED: ("task_id",),  # its findings go to the handling unit
    Event.EVALUATION_FINDING_APPEALED: ("finding_id",),
    Event.EVALUATION_APPEAL_REVIEWED: ("finding_id", "upheld"),
    Event.EVALUATION_FINDING_CONFIRMED: ("finding_id",),  # on review, or when the appeal window closed
    Event.EVALUATION_RECTIFICATION_RECORDED: ("rectification_id",),  # the unit said what was done
    Event.EVALUATION_RECTIFICATION_ACCEPTED: ("rectification_id",),  # the organiser accepted it: resolved
    Event.UNIT_CHANGED: ("unit_id",),  # created or renamed by an admin
}


class UnknownEvent(LookupError):
    """A name that is not in the catalogue."""


def known(event: Event | str) -> Event:
    """The catalogue entry for `event`; UnknownEvent for anything else (a misspelt name fails loudly)."""
    try:
        return Event(event)
    except ValueError:
        raise UnknownEvent(f"{event!r} is not an event of the catalogue (casework.events.Event)") from None


def publish(event: Event | str, **payload) -> list[int]:
    """Schedule every job subscribed to `event`, in the current transaction; returns the outbox row ids. Inside
    `outbox.in_place`, a job that joins its caller's transaction runs at the end of that block instead."""
    event = known(event)
    if set(payload) != set(PAYLOAD[event]):
        raise TypeError(f"{event.value} carries {', '.join(PAYLOAD[event])}; got {', '.join(sorted(payload))}")
    return [
        outbox.add(job.name, **payload)
        for job in subscriptions.of().subscribers(event.value)
        if not outbox.defer_in_place(job.name, payload)
    ]


def subscribe(
    app: Flask,
    event: Event | Iterable[Event],
    func: Callable,
    *,
    job: str,
    queue: str = "default",
    joins: bool = False,
) -> Job:
    """Run `func(**payload)` as the outbox job `job` whenever `event` (one or several) is published; `joins`: it is
    a use case that may share a transaction with others like it (see `Job.joins`)."""
    chosen = (event,) if isinstance(event, str) else tuple(event)
    names = tuple(known(e).value for e in chosen)
    return subscriptions.of(app).add_job(Job(name=job, func=func, queue=queue, events=names, joins=joins))


def job(app: Flask, name: str, func: Callable, *, queue: str = "default") -> Job:
    """Register a job that is scheduled by name (`outbox.add`) rather than by an event."""
    return subscriptions.of(app).add_job(Job(name=name, func=func, queue=queue))


def periodic(app: Flask, name: str, func: Callable, *, every: int) -> Sweep:
    """Register a sweep run every `every` seconds; it is called as `func(now=<the moment it runs for>)`."""
    return subscriptions.of(app).add_sweep(Sweep(name=name, func=func, interval=every))


def catalogue(app: Flask) -> list[dict]:
    """Every event with the fields it carries and its subscribers (for `flask events`)."""
    registry = subscriptions.of(app)
    return [
        {
            "event": e.value,
            "payload": list(PAYLOAD[e]),
            "subscribers": [
                {"job": j.name, "queue": j.queue, "func": _qualname(j.func)} for j in registry.subscribers(e.value)
            ],
        }
        for e in Event
    ]


def _qualname(func: Callable) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
