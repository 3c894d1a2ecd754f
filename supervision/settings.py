"""The supervision engine's settings, declared once (collected by `server.config`)."""

from flask import current_app, has_app_context

from casework.settings import Setting

SETTINGS = [
    Setting("SUPERVISION_SWEEP_SECONDS", int, 60, "seconds between two supervision sweeps"),
    Setting(
        "SUPERVISION_WARNING_TEMPLATE_ID",
        str,
        "",
        "official-account template for warnings pushed to officers (fields: colour, point, subject, due); "
        "empty: no WeChat push",
    ),
    Setting(
        "EVALUATION_TASK_TEMPLATE_ID",
        str,
        "",
        "official-account template telling an evaluator of a new evaluation task (fields: plan, number, due); "
        "empty: the console inbox only",
    ),
]

DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def get(name: str):
    """The app's value for `name`, or the declared default."""
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return DEFAULTS[name]
