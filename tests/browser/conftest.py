"""Browser fixtures: Debian's headless Chromium driven by Playwright, on the app served over HTTP.

No browser is downloaded: Playwright launches /usr/bin/chromium (`.ci/run` installs it
with fonts-noto-cjk). Without it every browser test is skipped, saying why.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import Clock, make_app
from tests.fakes import FakeWeChat, Served

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MISSING = ("browser tests need Debian's chromium at /usr/bin/chromium "
           "(apt-get install chromium fonts-noto-cjk; .ci/run installs them)")


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: a page and its script are the same on either database, and every route they
    call is tested over HTTP on both."""
    return sqlite_database


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page reported (CSP violations among them); a test that expects one clears it."""
    return []


@pytest.fixture
def off_browser_server(database: tuple[str, str | None], fake_wechat: FakeWeChat,
                       clock: Clock) -> Iterator[str]:
    """The app served with `[sim] enabled = false`."""
    app = make_app(database, fake_wechat, clock, settings={"sim.enabled": False})
    served = Served(app)
    yield served.url
    served.close()
    app.extensions["linli"].close()


@pytest.fixture
def page(tmp_path: Path, console_errors: list[str]) -> Iterator["Page"]:  # noqa: F821
    """A page in a fresh Chromium with a new, empty profile; fails the test on any console error."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    errors = console_errors
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            page.on("console", lambda message: errors.append(message.text)
                    if message.type == "error" and not _favicon(message.location) else None)
            page.on("pageerror", lambda err: errors.append(str(err)))
            yield page
        finally:
            context.close()
    assert not errors, f"the browser reported errors: {errors}"


def _favicon(location: dict) -> bool:  # type: ignore[type-arg]
    """The browser asks for /favicon.ico on its own; the pages do not have one."""
    return str(location.get("url", "")).endswith("/favicon.ico")
