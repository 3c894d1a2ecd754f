"""One configuration: every setting declared once, read from the environment, and listed in the README."""

import re
from pathlib import Path

import pytest

from casework import settings as domain_settings
from server import config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NOT_APP_CODE = {"tests", "benchmarks", "migrations"}
# Keys of app.config that are not settings from the environment: Flask's and the wiring's own.
WIRING_KEYS = {"TESTING", "SQLALCHEMY_ENGINE_OPTIONS", "MIGRATIONS_DIR"}

ENV_READ = re.compile(r"""(?:environ(?:\.get)?|getenv)\s*[(\[]\s*["']([A-Z][A-Z0-9_]+)["']""")
CONFIG_READ = re.compile(r"""(?:config|settings)(?:\.get)?\s*[(\[]\s*["']([A-Z][A-Z0-9_]+)["']""")
OWN_DEFAULT = re.compile(r"""(?:config|settings)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']\s*,""")


def app_sources() -> list[Path]:
    packages = [path for path in ROOT.iterdir() if (path / "__init__.py").is_file() and path.name not in NOT_APP_CODE]
    return [ROOT / "wsgi.py", *(source for package in packages for source in package.rglob("*.py"))]


def found_in_sources(pattern: re.Pattern) -> dict[str, str]:
    """Name -> the first file that matches `pattern` with it."""
    found: dict[str, str] = {}
    for source in app_sources():
        for name in pattern.findall(source.read_text(encoding="utf-8")):
            found.setdefault(name, str(source.relative_to(ROOT)))
    return found


def configuration_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Configuration\n")
    return text[start : text.index("\n## ", start + 1)]


def documented() -> set[str]:
    """The names in the first column of every table in the README's Configuration section."""
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", configuration_section(), flags=re.MULTILINE))


def test_every_setting_read_from_the_environment_is_documented_and_every_documented_one_is_read():
    read = {setting.name for setting in config.SETTINGS} | set(found_in_sources(ENV_READ))
    assert read - documented() == set(), "read from the environment but missing from the README's table"
    assert documented() - read == set(), "in the README's table but never read from the environment"


def test_the_readme_tables_are_the_declarations():
    section = configuration_section()
    begin, end = "<!-- settings: generated from server/config.py -->\n", "<!-- end of settings -->"
    generated = section[section.index(begin) + len(begin) : section.index(end)]
    assert generated.strip() == config.markdown().strip(), (
        "README.md's settings differ from their declarations; paste server.config.markdown() between the markers"
    )


def test_each_setting_is_declared_once():
    names = [setting.name for setting in config.SETTINGS]
    assert sorted(names) == sorted(set(names))
    assert all(setting.meaning and "\n" not in setting.meaning for setting in config.SETTINGS)
    assert all(config.TYPE_NAMES.get(setting.type) or setting.type.__doc__ for setting in config.SETTINGS)


def test_code_reads_only_declared_settings_and_never_brings_its_own_default():
    declared = {setting.config_key for setting in config.SETTINGS} | WIRING_KEYS
    read = found_in_sources(CONFIG_READ)
    assert {name: where for name, where in read.items() if name not in declared} == {}
    own_defaults = [
        f"{source.relative_to(ROOT)}: {name}"
        for source in app_sources()
        for name in OWN_DEFAULT.findall(source.read_text(encoding="utf-8"))
    ]
    assert own_defaults == [], "a default is written where the setting is declared, and only there"


def test_the_domain_declares_its_own_settings_and_they_reach_the_app(tmp_path):
    env = config.from_env({}, str(tmp_path))
    for setting in domain_settings.SETTINGS:
        assert setting in config.SETTINGS
        assert env[setting.name] == domain_settings.get(setting.name) == setting.default


def test_values_are_read_as_their_type(tmp_path):
    env = config.from_env(
        {
            "DATABASE_URL": "postgresql://wx110@db/wx110",
            "MEDIA_MAX_PHOTOS": "3",
            "WECHAT_DUPLICATE_WAIT": "1.5",
            "INLINE_TIMER": "no",
            "MINIAPP_PROGRESS_TEMPLATE_FIELDS": "a, b",
            "MINIAPP_RATE_LIMITS": "report=5/600",
            "WECHAT_PROGRESS_TEMPLATE_ID": "tpl-1",
            "REDIS_URL": "",
            "QR_WEB_REPORT_LIMIT": "3/60",
            "COMPLAINT_ANSWER_DAYS": "5",
        },
        str(tmp_path),
    )
    assert env["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://wx110@db/wx110" and "DATABASE_URL" not in env
    assert env["MEDIA_MAX_PHOTOS"] == 3 and env["WECHAT_DUPLICATE_WAIT"] == 1.5 and env["INLINE_TIMER"] is False
    assert env["MINIAPP_PROGRESS_TEMPLATE_FIELDS"] == ["a", "b"]
    assert env["MINIAPP_RATE_LIMITS"] == config.RATE_LIMITS | {"report": "5/600"}
    assert env["WECHAT_CHAT_TEMPLATE_ID"] == "tpl-1"  # defaults to the progress template
    assert env["REDIS_URL"] is None  # empty is unset
    assert env["QR_WEB_REPORT_LIMIT"] == "3/60" and env["COMPLAINT_ANSWER_DAYS"] == 5


def test_defaults_depend_on_the_instance_and_are_never_shared(tmp_path):
    first, second = config.from_env({}, str(tmp_path)), config.from_env({}, str(tmp_path))
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'wx110.sqlite3'}"
    assert first["MEDIA_ROOT"] == str(tmp_path / "media")
    assert first["WECHAT_REPLY_MODE"] == "inline" and first["INLINE_TIMER"] is True
    first["MINIAPP_RATE_LIMITS"]["report"] = "1/1"
    assert second["MINIAPP_RATE_LIMITS"] == config.RATE_LIMITS != first["MINIAPP_RATE_LIMITS"]


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEDIA_MAX_PHOTOS", "many"),
        ("INLINE_TIMER", "maybe"),
        ("WECHAT_REPLY_MODE", "later"),
        ("QR_WEB_REPORT_LIMIT", "10 per minute"),
        ("MINIAPP_RATE_LIMITS", "report=often"),
    ],
)
def test_a_value_that_cannot_be_read_stops_the_start_naming_the_setting(tmp_path, name, value):
    with pytest.raises(config.ConfigError, match=f"^{name}="):
        config.from_env({name: value}, str(tmp_path))
