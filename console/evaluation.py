"""The console's evaluation pages (执法考评): standards (import, edit), plans (make, draw, review appeals, accept
rectifications, results, CSV, printable unit report, trend), the evaluator's inbox and the case file they score,
and the unit's findings (appeal) and rectifications.

Each route translates a form or a link into one supervision call, like the rest of the console.
"""

from datetime import date, datetime, time

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from casework import clock
from casework.errors import DomainError, InvalidInput
from casework.models import CaseType, Role
from console import charts
from console.auth import me, requires
from console.views import csrf, headers
from media.storage import storage
from supervision import (
    evaluation,
    evaluation_assignment,
    evaluation_results,
    evaluation_review,
    evaluation_standards,
)
from supervision.evaluation_models import FindingState, PlanState, Severity

bp = Blueprint("evaluation", __name__, url_prefix="/console/evaluation")
bp.after_request(headers)

ORGANISER_ROLES = (Role.LEGAL_OFFICER, Role.SUPERVISOR)
UNIT_ROLES = evaluation_review.UNIT_ROLES


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


@bp.app_context_processor
def evaluation_badge() -> dict:
    """The open-tasks badge in the console header (the evaluator's notice of new tasks)."""
    if not request.path.startswith("/console") or not current_user.is_authenticated:
        return {}
    return {"evaluation_open": evaluation.open_task_count(me())}


def _act(action, done: str) -> bool:
    try:
        action()
    except DomainError as refused:
        flash(refused.message, "error")
        for line in (refused.detail or {}).get("errors", [])[:50]:
            flash(line, "error")
        return False
    flash(done)
    return True


def _date(field: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(field, ""))
    except ValueError:
        return None


def _end_of_day(field: str) -> datetime:
    day = _date(field)
    if day is None:
        raise InvalidInput("请填写各项期限")
    return datetime.combine(day, time(23, 59, 59), tzinfo=clock.CHINA)


# -- standards ------------------------------------------------------------------------------------------------


@bp.get("/standards")
@requires(Role.ADMIN, *ORGANISER_ROLES)
def standard_list():
    return render_template("console/evaluation_standards.html", standards=evaluation_standards.all_standards())


@bp.post("/standards")
@requires(Role.ADMIN)
def import_standard():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择CSV或XLSX文件", "error")
        return redirect(url_for("evaluation.standard_list"))
    data = upload.read(5 * 1024 * 1024 + 1)
    if len(data) > 5 * 1024 * 1024:
        flash("文件过大(最大5MB)", "error")
        return redirect(url_for("evaluation.standard_list"))
    _act(
        lambda: evaluation_standards.import_file(
            data, actor=me(), name=request.form.get("name", ""), filename=upload.filename
        ),
        "已导入考评标准",
    )
    return redirect(url_for("evaluation.standard_list"))


@bp.get("/standards/<int:standard_id>")
@requires(Role.ADMIN, *ORGANISER_ROLES)
def standard_page(standard_id: int):
    found = evaluation_standards.standard(standard_id)
    return render_template("console/evaluation_standard.html", standard=found, severities=list(Severity))


@bp.post("/standards/<int:standard_id>/criteria")
@requires(Role.ADMIN)
def edit_criterion(standard_id: int):
    made = []
    form = request.form
    done = _act(
        lambda: made.append(
            evaluation_standards.edit_criterion(
                actor=me(),
                standard_id=standard_id,
                code=form.get("code", ""),
                text=form.get("text", ""),
                concerns=form.get("concerns", ""),
                points=form.get("points", ""),
                severity=form.get("severity", ""),
            )
        ),
        "已保存,生成新版本",
    )
    return redirect(url_for("evaluation.standard_page", standard_id=made[0].id if done else standard_id))


# -- plans ----------------------------------------------------------------------------------------------------


@bp.get("/plans")
@requires()
def plan_list():
    officer = me()
    return render_template(
        "console/evaluation_plans.html",
        plans=evaluation.plans_for(officer),
        standards=evaluation_standards.all_standards(),
        units=evaluation.organisable_units(officer),
        case_types=list(CaseType),
        may_organise=any(officer.has_role(r) for r in ORGANISER_ROLES)
        and officer.unit.level in evaluation.ORGANISING_LEVELS,
    )


@bp.post("/plans")
@requires(*ORGANISER_ROLES)
def create_plan():
    form = request.form
    made = []

    def create():
        share = form.get("sample_share", "").strip()
        count = form.get("sample_count", "").strip()
        try:
            share_value = float(share) / 100 if share else None
            count_value = int(count) if count else None
            unit_ids = [int(u) for u in form.getlist("unit_ids")]
            standard_id = int(form.get("standard_id", ""))
            rectify_days = int(form.get("rectify_days", "15") or 15)
        except ValueError:
            raise InvalidInput("请检查数字格式") from None
        made.append(
            evaluation.create_plan(
                actor=me(),
                name=form.get("name", ""),
                standard_id=standard_id,
                period_start=_date("period_start"),
                period_end=_date("period_end"),
                unit_ids=unit_ids,
                case_types=form.getlist("case_types"),
                sample_share=share_value,
                sample_count=count_value,
                scoring_due_at=_end_of_day("scoring_due"),
                appeal_due_at=_end_of_day("appeal_due"),
                review_due_at=_end_of_day("review_due"),
                rectify_days=rectify_days,
                seed=form.get("seed") or None,
            )
        )

    if _act(create, "已创建考评方案"):
        return redirect(url_for("evaluation.plan_page", plan_id=made[0].id))
    return redirect(url_for("evaluation.plan_list"))


@bp.get("/plans/<int:plan_id>")
@requires()
def plan_page(plan_id: int):
    officer = me()
    plan = evaluation.plan_for(officer, plan_id)
    unit_id = request.args.get("unit", type=int)
    officer_id = request.args.get("officer", type=int)
    drill = None
    if unit_id or officer_id:
        drill = evaluation_results.findings_of(plan, unit_id=unit_id, officer_id=officer_id)
    organiser = officer.unit_id == plan.organiser_unit_id and any(officer.has_role(r) for r in ORGANISER_ROLES)
    rectifications = [r for r in evaluation_review.rectifications_for(officer) if r.finding.plan_id == plan.id]
    return render_template(
        "console/evaluation_plan.html",
        plan=plan,
        organiser=organiser,
        tasks=evaluation.tasks_of_plan(plan) if organiser else [],
        appeals=evaluation.findings_of_plan(plan, FindingState.APPEALED) if organiser else [],
        rectifications=rectifications,
        colour_of=evaluation_review.colour_of,
        units=evaluation_results.by_unit(plan),
        officers=evaluation_results.by_officer(plan),
        drill=drill,
        score=evaluation.score,
        eligible=_eligible_for(plan) if organiser and plan.state == PlanState.SCORING.value else None,
        now=clock.now(),
    )


def _eligible_for(plan):
    """Who each task of the plan may be reassigned to, with the plan's evaluator pool read once for the page."""
    pool = evaluation.evaluators_for(plan)
    return lambda task: evaluation_assignment.eligible_evaluators(task, pool)


@bp.post("/plans/<int:plan_id>/draw")
@requires(*ORGANISER_ROLES)
def draw(plan_id: int):
    _act(lambda: evaluation.draw(actor=me(), plan_id=plan_id), "已抽取案件并分派评查任务")
    return redirect(url_for("evaluation.plan_page", plan_id=plan_id))


def _optional_end_of_day(field: str) -> datetime | None:
    return _end_of_day(field) if request.form.get(field, "").strip() else None


@bp.post("/tasks/<int:task_id>/extend")
@requires(*ORGANISER_ROLES)
def extend_task(task_id: int):
    found = []
    _act(
        lambda: found.append(
            evaluation_assignment.extend(
                actor=me(), task_id=task_id, due_at=_optional_end_of_day("due"), reason=request.form.get("reason", "")
            )
        ),
        "已延长评查期限",
    )
    return _back_to_plan(found)


def _back_to_plan(found: list) -> Response:
    """To the task's plan page when the step was taken; otherwise back to the page the form was on."""
    if found:
        return redirect(url_for("evaluation.plan_page", plan_id=found[0].plan_id))
    return redirect(request.referrer or url_for("evaluation.plan_list"))


@bp.post("/tasks/<int:task_id>/reassign")
@requires(*ORGANISER_ROLES)
def reassign_task(task_id: int):
    found = []
    chosen = request.form.get("evaluator_id", type=int)
    _act(
        lambda: found.append(
            evaluation_assignment.reassign(
                actor=me(),
                task_id=task_id,
                evaluator_id=chosen or 0,
                due_at=_optional_end_of_day("due"),
                reason=request.form.get("reason", ""),
            )
        ),
        "已改派评查任务",
    )
    return _back_to_plan(found)


@bp.post("/findings/<int:finding_id>/review")
@requires(*ORGANISER_ROLES)
def review(finding_id: int):
    upheld = request.form.get("decision") == "upheld"
    found = []
    _act(
        lambda: found.append(
            evaluation_review.review(
                officer=me(), finding_id=finding_id, upheld=upheld, reason=request.form.get("reason", "")
            )
        ),
        "申诉成立,已撤销该问题" if upheld else "申诉不成立,问题已确认并转整改",
    )
    if found and found[0].reviewed_late:
        flash("已超过方案的复核截止时间,本次复核记为逾期复核", "error")
    return redirect(url_for("evaluation.plan_page", plan_id=found[0].plan_id) if found else request.referrer or "/")


@bp.post("/rectifications/<int:rectification_id>/accept")
@requires(*ORGANISER_ROLES)
def accept(rectification_id: int):
    accepted = request.form.get("decision") != "return"
    _act(
        lambda: evaluation_review.accept_rectification(
            officer=me(), rectification_id=rectification_id, accepted=accepted, reason=request.form.get("reason", "")
        ),
        "已验收整改" if accepted else "已退回重新整改",
    )
    return redirect(request.form.get("back") or url_for("evaluation.rectification_list"))


@bp.get("/plans/<int:plan_id>/results.csv")
@requires()
def results_csv(plan_id: int):
    plan = evaluation.plan_for(me(), plan_id)
    response = Response(evaluation_results.csv_export(plan), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename=evaluation-{plan.id}.csv"
    return response


@bp.get("/plans/<int:plan_id>/units/<int:unit_id>/report")
@requires()
def unit_report(plan_id: int, unit_id: int):
    officer = me()
    plan = evaluation.plan_for(officer, plan_id)
    unit, standing, findings = evaluation_results.unit_report(officer, plan, unit_id)
    return render_template(
        "console/evaluation_report.html", plan=plan, unit=unit, standing=standing, findings=findings, now=clock.now()
    )


@bp.get("/trend")
@requires()
def trend():
    plans, series = evaluation_results.trend(me())
    drawn = {name: charts.line_chart(values, [p.name for p in plans]) for name, values in series.items()}
    return render_template("console/evaluation_trend.html", plans=plans, series=series, charts=drawn)


# -- the evaluator --------------------------------------------------------------------------------------------


@bp.get("/tasks")
@requires()
def task_list():
    return render_template(
        "console/evaluation_tasks.html", tasks=evaluation.tasks_of(me()), score=evaluation.score, now=clock.now()
    )


@bp.get("/tasks/<int:task_id>")
@requires()
def task_page(task_id: int):
    view = evaluation.read_case(evaluator=me(), task_id=task_id, what=request.args.get("what", "case")[:32])
    return render_template(
        "console/evaluation_task.html",
        view=view,
        task=view.task,
        criteria=view.task.plan.standard.criteria,
        score=evaluation.score(view.task.findings),
    )


@bp.get("/tasks/<int:task_id>/materials/<int:material_id>")
@requires()
def task_material(task_id: int, material_id: int):
    record = evaluation.read_material(evaluator=me(), task_id=task_id, material_id=material_id)
    response = send_file(
        storage().path(record.storage_key),
        mimetype=record.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=record.original_name or record.title,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/tasks/<int:task_id>/findings")
@requires()
def record_finding(task_id: int):
    criterion_id = request.form.get("criterion_id", type=int)
    if criterion_id is None:
        flash("请选择考评项", "error")
    else:
        _act(
            lambda: evaluation.record_finding(
                evaluator=me(),
                task_id=task_id,
                criterion_id=criterion_id,
                evidence=request.form.get("evidence", ""),
                note=request.form.get("note", ""),
            ),
            "已记录问题",
        )
    return redirect(url_for("evaluation.task_page", task_id=task_id, what="scoring"))


@bp.post("/tasks/<int:task_id>/findings/<int:finding_id>/remove")
@requires()
def remove_finding(task_id: int, finding_id: int):
    _act(lambda: evaluation.remove_finding(evaluator=me(), task_id=task_id, finding_id=finding_id), "已删除")
    return redirect(url_for("evaluation.task_page", task_id=task_id, what="scoring"))


@bp.post("/tasks/<int:task_id>/submit")
@requires()
def submit(task_id: int):
    _act(lambda: evaluation.submit(evaluator=me(), task_id=task_id), "已提交评查结果,问题已推送至被考评单位")
    return redirect(url_for("evaluation.task_list"))


# -- the unit -------------------------------------------------------------------------------------------------


@bp.get("/findings")
@requires(*UNIT_ROLES)
def finding_list():
    return render_template("console/evaluation_findings.html", findings=evaluation_review.findings_for_unit(me()))


@bp.post("/findings/<int:finding_id>/appeal")
@requires(*UNIT_ROLES)
def appeal(finding_id: int):
    _act(
        lambda: evaluation_review.appeal(officer=me(), finding_id=finding_id, reason=request.form.get("reason", "")),
        "已提交申诉,等待组织单位复核",
    )
    return redirect(url_for("evaluation.finding_list"))


@bp.get("/rectifications")
@requires()
def rectification_list():
    return render_template(
        "console/evaluation_rectifications.html",
        rectifications=evaluation_review.rectifications_for(me()),
        colour_of=evaluation_review.colour_of,
    )


@bp.post("/rectifications/<int:rectification_id>")
@requires(*UNIT_ROLES)
def record_rectification(rectification_id: int):
    if not rectification_id:
        abort(404)
    _act(
        lambda: evaluation_review.record_rectification(
            officer=me(), rectification_id=rectification_id, text=request.form.get("text", "")
        ),
        "已报送整改情况,等待组织单位验收",
    )
    return redirect(url_for("evaluation.rectification_list"))
