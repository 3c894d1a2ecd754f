"""Telling an evaluator of a new task beyond the console inbox: a WeChat template message when the officer's WeChat
is bound and a template is configured. An outbox job per assignment (at least once); a task already told is never
told again, and a task reassigned since tells only its new evaluator.

There is no text-message channel for tasks: a task is not urgent the way a warning is, and the warnings of its
deadline (blue, then red) reach people by the engine's own channels.
"""

from sqlalchemy import update

import wechat
from casework import clock, settings
from casework.db import db
from supervision import settings as supervision_settings
from supervision import texts
from supervision.evaluation_models import EvaluationTask


def task_assigned(task_id: int, evaluator_id: int) -> None:
    """Push the task to its evaluator's WeChat unless told already; a failure is raised for the queue's retry."""
    task = db.session.get(EvaluationTask, task_id)
    template = supervision_settings.get("EVALUATION_TASK_TEMPLATE_ID")
    if (
        task is None
        or task.evaluator_id != evaluator_id  # reassigned since: the new evaluator's own job tells them
        or task.notified_at is not None
        or task.submitted_at is not None
        or not template
        or not task.evaluator.active
        or not task.evaluator.wechat_openid
    ):
        db.session.rollback()
        return
    openid = task.evaluator.wechat_openid
    fields = {
        "plan": task.plan.name,
        "number": task.case.number,
        "due": texts.due_text(task.scoring_due_at),
    }
    link = f"{settings.get('PUBLIC_BASE_URL').rstrip('/')}/console/evaluation/tasks/{task.id}"
    db.session.rollback()  # hold no transaction while talking to WeChat
    wechat.client("oa").send_template(openid, template, fields, url=link)
    db.session.execute(
        update(EvaluationTask)
        .where(
            EvaluationTask.id == task_id,
            EvaluationTask.evaluator_id == evaluator_id,
            EvaluationTask.notified_at.is_(None),
        )
        .values(notified_at=clock.now())
    )
    db.session.commit()
