"""Fixtures the end-to-end tests share: one headless Chromium per test module (Debian's, through Playwright)."""

import pytest

from tests import services

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser():
    services.require("browser", services.browser_problem())
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=services.CHROMIUM, args=ARGS)
        yield launched
        launched.close()
