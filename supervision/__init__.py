"""The supervision engine: deadline clocks on the Chinese calendar, monitoring points as data, blue / yellow / red
warnings raised by a sweep every minute, notifications to officers, and the board's figures.

It uses `casework` and never a channel: it listens to domain events (`watch.HANDLERS`), runs its sweep as a
periodic job, and its pages live in the console.
"""

from flask import Flask

from casework import events
from casework.events import Event
from supervision import (  # noqa: F401 - models: the tables join the metadata
    case_watch,
    evaluation_models,
    evaluation_notify,
    models,
    notify,
    settings,
    sweep,
    watch,
)
from supervision.cli import calendar_cli, supervision_cli


def init_app(app: Flask) -> None:
    """Subscribe the clock handlers and the notice delivery, register the sweep and the commands."""
    for event, (job, handler) in (watch.HANDLERS | case_watch.HANDLERS).items():
        events.subscribe(app, event, handler, job=job, joins=True)  # each a use case on clocks: batchable
    events.subscribe(app, Event.NOTIFICATION_DUE, notify.deliver, job="supervision.deliver_notice", queue="notify")
    events.subscribe(
        app,
        Event.EVALUATION_TASK_ASSIGNED,
        evaluation_notify.task_assigned,
        job="evaluation.notify_evaluator",
        queue="notify",
    )
    events.periodic(app, "supervision.sweep", sweep.periodic_sweep, every=app.config["SUPERVISION_SWEEP_SECONDS"])
    app.cli.add_command(calendar_cli)
    app.cli.add_command(supervision_cli)
