"""/console/staff: add, edit coverage, remove — as `flask staff add|remove` — within the operator's
level; every change is in the audit log."""
from __future__ import annotations

import pytest

import re

from flask import Flask
from sqlalchemy import select

from models import Staff
from models.console import AuditEntry
from tests.conftest import cli
from tests.console_factories import ConsoleBrowser, add_operator


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's staff pages, the same on either database."""
    return sqlite_database

GRID = {"channel": "wecom", "user_id": "chen", "name": "陈网格", "role": "grid",
        "buildings": "6-8", "homes": ""}


def signed_in(app: Flask, server: str, level: str = "property") -> ConsoleBrowser:
    add_operator(app, "王芳", level)
    browser = ConsoleBrowser(server)
    browser.sign_in("王芳")
    return browser


def member(app: Flask, user_id: str) -> Staff | None:
    with app.extensions["linli"].sessions() as session:
        found = session.scalar(select(Staff).where(Staff.user_id == user_id))
        if found is not None:
            _ = list(found.coverage)
        return found


def test_add_a_grid_worker_as_the_cli_would(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    added = browser.post("/console/staff", GRID)
    assert added.status_code == 303
    assert "陈网格" in browser.get("/console/staff").text
    chen = member(app, "chen")
    assert chen.role == "grid" and sorted(c.building for c in chen.coverage) == ["6", "7", "8"]
    listing = cli(app, "staff", "list")
    assert "陈网格" in listing and "6-8" in listing
    with app.extensions["linli"].sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action != "sign_in")).one()
    assert entry.action == "staff:add" and '"coverage": [null, "6-8"]' in entry.changes


def test_edit_coverage_and_remove(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    browser.post("/console/staff", GRID)
    chen = member(app, "chen")
    browser.post(f"/console/staff/{chen.id}", GRID | {"buildings": "9", "homes": "10-2"})
    chen = member(app, "chen")
    assert {(c.building, c.unit) for c in chen.coverage} == {("9", None), ("10", "2")}
    browser.post(f"/console/staff/{chen.id}/remove")
    assert member(app, "chen") is None
    with app.extensions["linli"].sessions() as session:
        actions = [e.action for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action != "sign_in").order_by(AuditEntry.id))]
    assert actions == ["staff:add", "staff:edit", "staff:remove"]


def test_bad_coverage_is_answered_and_nothing_is_kept(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    refused = browser.post("/console/staff", GRID | {"buildings": "8-6"})
    assert refused.status_code == 400 and "覆盖范围写法不对" in refused.text
    assert member(app, "chen") is None
    missing = browser.post("/console/staff", GRID | {"name": ""})
    assert missing.status_code == 400 and "请填写" in missing.text and member(app, "chen") is None


def test_no_one_makes_staff_above_their_own_level(app: Flask, server: str) -> None:
    browser = signed_in(app, server, "property")
    assert "街道" not in re.sub(r"<header.*?</header>", "", browser.get("/console/staff").text, flags=re.S)
    refused = browser.post("/console/staff", GRID | {"role": "street", "user_id": "boss"})
    assert refused.status_code == 403 and member(app, "boss") is None


def test_a_form_without_its_csrf_token_adds_no_one(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    assert browser.post("/console/staff", GRID, csrf=False).status_code == 400
    assert browser.post("/console/staff", GRID, token="forged").status_code == 400
    other = ConsoleBrowser(server)  # a token from another browser's session is no good either
    other.token()
    assert browser.post("/console/staff", GRID, token=other.token()).status_code == 400
    assert member(app, "chen") is None
