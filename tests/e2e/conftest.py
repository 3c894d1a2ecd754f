"""Fixtures the end-to-end tests share: one headless Chromium per test process (Debian's, through Playwright),
launched when a test first asks for it; each test's browser contexts are closed when it ends, so no page of one
test (a live queue polling its server) lives on into the next."""

import pytest

from tests import services

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def _chromium():
    # A missing playwright package or Chromium is a missing service: red banner, and a failed run under CI.
    services.require("browser", services.browser_problem())
    from playwright import sync_api  # imported only once it is known to be there

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=services.CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def browser(_chromium):
    yield _chromium
    for context in list(_chromium.contexts):
        context.close()
