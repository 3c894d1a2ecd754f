"""Every page of the demo as a person reads it: each demo officer walks every console page reachable by links from
the queue, and a citizen's pages (the index, a doorplate landing page, a web report's tracking page) are opened.
A page fails on a 4xx / 5xx answer, on an English word in its text (outside code, numbers, and the acronyms a
Chinese officer reads as they are), or, in the console, on having no way back to the console."""

import html
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from casework import doorplates, seed
from casework.db import db
from tests.integration.test_console import Browser, csrf_of, log_in

# Names a Chinese officer reads as they are (file formats, products, protocols).
ACRONYMS = {"CSV", "PDF", "PNG", "XLSX", "Excel", "QR", "ID", "API", "OpenAPI", "SMS", "HTTP", "URL", "AES", "SHA"}
SKIP = re.compile(r"/logout|\.csv$|/export|/download|/attachments/|/materials/\d+$|/label|/sheet|/print$")
# A word of letters alone; letters joined to digits or a hyphen are a code (JQ2026..., DH-0001, SA-01).
ENGLISH_WORD = re.compile(r"(?<![\w.-])[A-Za-z][A-Za-z']+(?![\w.-])")
LIMIT = 250  # pages an officer's walk may visit


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def demo(app, ctx):
    """The demo world as `flask demo` seeds it (incidents, cases, complaints, evaluation), jobs done."""
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    return app


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles, code and tags, entities decoded."""
    page = re.sub(r"<(script|style|code|pre|svg)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    page = re.sub(r"<title>.*?</title>", " ", page, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(text)


def english_words(page: str) -> list[str]:
    words = ENGLISH_WORD.findall(visible_text(page))
    return sorted({w for w in words if w not in ACRONYMS})


def links(page: str, at: str) -> list[str]:
    found = []
    for href in re.findall(r'<a\b[^>]*\bhref="([^"#]+)"', page):
        url = urljoin(at, html.unescape(href))
        parts = urlsplit(url)
        if parts.netloc in ("", "localhost") and parts.path.startswith("/console") and not SKIP.search(parts.path):
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def walk(client, start: str = "/console/") -> dict[str, str]:
    """Every console page reachable from `start` by GET links, breadth first: {path: problem or ""}."""
    seen: dict[str, str] = {}
    waiting = deque([start])
    while waiting and len(seen) < LIMIT:
        path = waiting.popleft()
        if path in seen:
            continue
        answer = client.get(path)
        if answer.status_code in (301, 302, 303):
            seen[path] = ""
            waiting.append(urlsplit(answer.headers["Location"]).path)
            continue
        if not answer.content_type.startswith("text/html"):
            seen[path] = ""
            continue
        page = answer.get_data(as_text=True)
        problems = []
        if answer.status_code >= 400:
            problems.append(f"HTTP {answer.status_code}")
        if english := english_words(page):
            problems.append(f"English words {english}")
        if not re.search(r'<a\b[^>]*href="(/console/?|/console/queue)"', page):
            problems.append("no way back to the console")
        seen[path] = "; ".join(problems)
        waiting.extend(p for p in links(page, path) if p not in seen)
    return seen


@pytest.mark.parametrize("badge", [line.split()[0] for line in seed.roster()])
def test_every_console_page_of_the_demo_reads_right_for_each_officer(client, demo, badge):
    assert log_in(client, badge, seed.DEMO_PASSWORD).status_code == 302
    visited = walk(client)
    assert len(visited) >= 5, visited  # the walk reached the officer's pages
    problems: dict[str, list[str]] = {}  # each problem once, with the pages that have it
    for path, problem in sorted(visited.items()):
        if problem:
            problems.setdefault(problem, []).append(path)
    assert not problems, "\n".join(
        f"{problem}: {paths[:3]} ({len(paths)} pages)" for problem, paths in problems.items()
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_citizen_pages_read_right(client, demo):
    token = doorplates.token_for(doorplates.by_code("DH-0001"))
    db.session.rollback()
    pages = {"/": client.get("/"), "landing": client.get(f"/d/{token}")}
    form = pages["landing"].get_data(as_text=True)
    fields = {
        "form_token": re.search(r'name="form_token" value="([^"]+)"', form).group(1),
        "description": "楼下有人打架",
        "phone": "13800138000",
    }
    pages["received"] = client.post(f"/d/{token}", data=fields)
    received = pages["received"].get_data(as_text=True)
    tracking = html.unescape(re.search(r'id="tracking-link" href="([^"]+)"', received).group(1))
    pages["tracking"] = client.get(urlsplit(tracking).path)
    pages["missing"] = client.get("/t/not-a-link")
    for name, answer in pages.items():
        page = answer.get_data(as_text=True)
        assert answer.status_code == (404 if name == "missing" else 200), name
        assert not english_words(page), (name, english_words(page))
    assert csrf_of  # the console's helpers are shared with the console tests
