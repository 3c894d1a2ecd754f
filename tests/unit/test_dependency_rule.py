"""The dependency rule of the design, checked on every import of every module (read with `ast`, not imported):

- the domain (`casework`, later `supervision`) never imports a channel, `server`, `wsgi`, wechatpy, or Flask's
  `request` / `g` / `session`: it takes plain arguments;
- channels (`bot`, `miniapp_api`, `qr`, `console`) never import each other, nor `server` or `wsgi`;
- the infrastructure packages (`wechat`, `media`, `store`) never import the domain, a channel or `server`.

Imports inside functions count, and so do `importlib.import_module("x")` / `__import__("x")` with a literal name.
Only `server/` and `wsgi.py` import everything; tests and benchmarks are outside the rule.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DOMAIN = frozenset({"casework", "supervision"})
CHANNELS = frozenset({"bot", "miniapp_api", "qr", "console"})
INFRASTRUCTURE = frozenset({"wechat", "media", "store"})
WIRING = frozenset({"server", "wsgi"})
REQUEST_STATE = frozenset({"request", "g", "session"})  # Flask's per-request objects

# Violations another stream of issue 8 removes; the lead deletes this set once those branches are merged.
# (path, imported module)


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the project root
    line: int
    module: str  # the dotted module imported
    names: tuple[str, ...] = ()  # what a `from module import ...` takes from it


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    module: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def module_name(path: str) -> str:
    """The dotted module of a project-relative path ("casework/models/__init__.py" -> "casework.models")."""
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(source: str, path: str) -> list[Import]:
    """Every import in a module's source: statements at any depth, relative ones resolved, and literal
    `importlib.import_module(...)` / `__import__(...)` calls; `flask.request`-style attribute use counts as an
    import of that name."""
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            found.extend(Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module:
                found.append(Import(path, node.lineno, module, tuple(alias.name for alias in node.names)))
            else:  # `from .. import server` at the top: each name is a top-level module
                found.extend(Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(Import(path, node.lineno, first.value))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "flask"
            and node.attr in REQUEST_STATE
        ):
            found.append(Import(path, node.lineno, "flask", (node.attr,)))
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("import_module", "__import__")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def broken_rule(owner: str, imported: Import) -> str | None:
    """Why `imported`, made by a module of top-level package `owner`, breaks the rule; None if it does not."""
    module = imported.module
    top = module.split(".")[0]
    if owner in DOMAIN:
        if top in CHANNELS:
            return f"the domain ({owner}) imports the channel {module}"
        if top in WIRING:
            return f"the domain ({owner}) imports the wiring {module}"
        if top == "wechatpy":
            return f"the domain ({owner}) imports wechatpy ({module})"
        taken = REQUEST_STATE.intersection(imported.names)
        if top == "flask" and taken:
            return f"the domain ({owner}) uses Flask's {', '.join(sorted(taken))} (pass plain arguments instead)"
    elif owner in CHANNELS:
        if top in CHANNELS and top != owner:
            return f"the channel {owner} imports another channel, {module}"
        if top in WIRING:
            return f"the channel {owner} imports the wiring {module}"
    elif owner in INFRASTRUCTURE:
        if top in DOMAIN:
            return f"the infrastructure package {owner} imports the domain, {module}"
        if top in CHANNELS:
            return f"the infrastructure package {owner} imports the channel {module}"
        if top in WIRING:
            return f"the infrastructure package {owner} imports the wiring {module}"
    return None


def violations_in(source: str, path: str) -> list[Violation]:
    owner = module_name(path).split(".")[0]
    found = []
    for imported in imports_in(source, path):
        reason = broken_rule(owner, imported)
        if reason:
            found.append(Violation(path, imported.line, imported.module, reason))
    return found


def project_modules() -> list[str]:
    """Every module of the packages the rule speaks about, as project-relative paths."""
    paths = []
    for package in sorted(DOMAIN | CHANNELS | INFRASTRUCTURE):
        directory, single = ROOT / package, ROOT / f"{package}.py"
        if directory.is_dir():
            paths.extend(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)
        elif single.is_file():
            paths.append(single)
    return sorted(p.relative_to(ROOT).as_posix() for p in paths)


def test_every_import_of_every_module_keeps_the_dependency_rule():
    modules = project_modules()
    assert len(modules) > 60 and "casework/incidents.py" in modules and "wechat/simulator.py" in modules
    found = [
        violation for path in modules for violation in violations_in((ROOT / path).read_text(encoding="utf-8"), path)
    ]
    assert not found, "the dependency rule is broken:\n" + "\n".join(map(str, found))


def test_the_scan_sees_the_real_imports():
    """Not a vacuous pass: the reader finds imports the project is known to make, in functions too."""
    modules = set(project_modules())
    seen = {(i.path, i.module) for path in modules for i in imports_in((ROOT / path).read_text(encoding="utf-8"), path)}
    assert ("bot/handlers/account.py", "casework.doorplates") in seen
    assert ("qr/views.py", "casework") in seen
    assert ("wechat/cli.py", "wechat") in seen
    assert ("supervision/watch.py", "casework.events") in seen  # the supervision engine is read as domain


DOMAIN_MODULE = '''\
"""A synthetic domain module that breaks the rule in every way the reader must notice."""
import importlib

from flask import current_app
from casework.db import db


def report(citizen):
    from bot import replies
    from flask import g
    import wechatpy.crypto
    views = importlib.import_module("qr.views")
    wiring = __import__("server.extensions")
    import flask
    return flask.session, current_app, db
'''


def test_a_violation_is_caught_with_file_and_line():
    found = violations_in(DOMAIN_MODULE, "casework/synthetic.py")
    assert [(v.line, v.module) for v in found] == [
        (9, "bot"),
        (10, "flask"),
        (11, "wechatpy.crypto"),
        (12, "qr.views"),
        (13, "server.extensions"),
        (15, "flask"),
    ]
    assert str(found[0]) == "casework/synthetic.py:9: the domain (casework) imports the channel bot"
    assert "Flask's g" in found[1].reason and "Flask's session" in found[5].reason


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("wechat/simulator.py", "from bot.envelope import sign\n", ["bot.envelope"]),
        ("media/storage.py", "def f():\n    from casework import clock\n", ["casework"]),
        ("store/limits.py", "import server.extensions\n", ["server.extensions"]),
        ("bot/handlers/account.py", "from ...qr import keys\nfrom casework import doorplates\n", ["qr"]),
        ("miniapp_api/routes.py", "from .. import server\nfrom . import texts\n", ["server"]),
        (
            "qr/views.py",
            "from miniapp_api import present\nfrom qr import links\nfrom wechat import client\n",
            ["miniapp_api"],
        ),
        ("casework/incidents.py", "from flask import current_app, has_app_context\nfrom casework import audit\n", []),
        ("server/__init__.py", "import bot\nimport qr.views\nfrom casework import seed\n", []),
    ],
)
def test_each_side_of_the_rule(path, source, expected):
    assert [v.module for v in violations_in(source, path)] == expected


def test_relative_imports_are_resolved():
    assert imports_in("from ...qr import keys\n", "bot/handlers/account.py")[0].module == "qr"
    assert imports_in("from . import texts\n", "miniapp_api/routes.py")[0].module == "miniapp_api"
    assert imports_in("from .models import Incident\n", "casework/__init__.py")[0].module == "casework.models"
