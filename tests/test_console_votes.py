"""/console/votes over real HTTP: create a vote with its proposal, watch turnout, close, export;
each action in the audit log; outsiders get 403 and change nothing; CSRF on every form."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from models import Estate, OutboxMessage, Vote, transaction
from models.console import AuditEntry
from models.proposals import DOCUMENT_BAD_TYPE, FROZEN, ProposalDocument
from tests.conftest import cli
from tests.console_factories import ConsoleBrowser, add_operator
from tests.factories import WeChatPeer
from tests.test_proposals import LINK, PDF, png
from tests.test_votes import bind, owners, show


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's vote pages (the votes themselves: test_votes),
    the same on either database."""
    return sqlite_database

FORM = {"title": "外墙维修", "kind": "owners_ordinary", "item": "5", "options": "", "opens": "",
        "closes": "2026-12-05T18:00", "proposal": "预算 186,400.00 元，从专项维修资金列支。"}


def signed_in(server: str, app: Flask, level: str = "estate", name: str = "业委会主任",
              **where: str) -> ConsoleBrowser:
    add_operator(app, name, level, **where)
    browser = ConsoleBrowser(server)
    assert browser.sign_in(name).status_code == 302
    return browser


def create(browser: ConsoleBrowser, files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
           **changes: str) -> requests.Response:
    return browser.post("/console/votes", {**FORM, **changes}, token=browser.token("/console/votes"),
                        files=files or [])


def counts(app: Flask) -> tuple[int, ...]:
    with app.extensions["linli"].sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) or 0
                     for model in (Vote, ProposalDocument, OutboxMessage, AuditEntry))


def audits(app: Flask) -> list[tuple[str, str, str]]:
    with app.extensions["linli"].sessions() as session:
        return [(e.operator_name, e.action, e.outcome) for e in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_create_watch_close_and_export(server: str, app: Flask, peer: WeChatPeer) -> None:
    phone, label, _ = owners(app)[0]
    bind(peer, "oOwnerConsole", label, phone)
    browser = signed_in(server, app)
    made = create(browser, files=[("documents", ("预算.pdf", PDF, "application/pdf")),
                                  ("documents", ("报价.png", png(), "image/png"))])
    assert made.status_code == 302, made.text
    number = int(re.search(r"/console/votes/(\d+)", made.headers["Location"]).group(1))
    with app.extensions["linli"].sessions() as session:
        told = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"vote:{number}:open:%"))).all()
    assert sorted(m.recipient for m in told) == ["oOwnerConsole", "residents"]
    token = LINK.search(told[0].body).group(1)  # type: ignore[union-attr]
    public = requests.get(f"{server}/proposal", params={"t": token}, timeout=10)
    assert public.status_code == 200 and "预算.pdf" in public.text and "186,400.00" in public.text

    page = browser.get(f"/console/votes/{number}")
    assert page.status_code == 200 and token in page.text and "0/" in page.text
    assert "已创建" in page.text and "已开始并通知了业主" in page.text  # said once, after the redirect
    assert "已创建" not in browser.get(f"/console/votes/{number}").text
    peer.say(f"投票 #{number} 同意", openid="oOwnerConsole")
    watched = browser.get(f"/console/votes/{number}")
    assert re.search(r"1/\d+（1/\d+）", watched.text), "turnout counts the new ballot"
    listed = browser.get("/console/votes")
    assert f"#{number}" in listed.text and "外墙维修" in listed.text

    closed = browser.post(f"/console/votes/{number}/close", token=browser.token(f"/console/votes/{number}"))
    assert closed.status_code == 302
    assert show(app, number)["state"] == "closed"
    assert "结果：" in browser.get(f"/console/votes/{number}").text

    export = browser.get(f"/console/votes/{number}/ballots.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["vote", "household", "homes", "area_m2", "choice"]
    assert [(r[0], r[4]) for r in rows[1:]] == [(str(number), "agree")]
    assert rows == list(csv.reader(io.StringIO(cli(app, "vote", "export", str(number)))))  # as the CLI's
    sheet = browser.get(f"/console/votes/{number}/result.xlsx")
    assert sheet.status_code == 200 and sheet.content.startswith(b"PK")  # an .xlsx is a zip
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    values = [v for row in book.worksheets[0].iter_rows(values_only=True) for v in row if v is not None]
    assert "外墙维修" in values and "同意" in values and "oOwnerConsole" not in str(values)
    done = [a for a in audits(app) if not a[1].startswith("sign_")]
    assert [a[1] for a in done] == ["表决.创建", "表决.截止", "表决.导出", "表决.导出结果"]
    assert all(a[0] == "业委会主任" for a in done)


def test_a_document_added_before_the_announcement_and_never_after(server: str, app: Flask) -> None:
    browser = signed_in(server, app)
    later = create(browser, opens="2026-12-01T09:00")  # scheduled: not announced yet
    number = int(re.search(r"/console/votes/(\d+)", later.headers["Location"]).group(1))
    big = b"%PDF-1.4\n" + b"0" * 200_000  # larger than the app's 64 KB for other forms
    added = browser.post(f"/console/votes/{number}/documents", token=browser.token(f"/console/votes/{number}"),
                         files={"document": ("合同.pdf", big, "application/pdf")})
    assert added.status_code == 302, added.text
    now = create(browser)
    opened = int(re.search(r"/console/votes/(\d+)", now.headers["Location"]).group(1))
    before = counts(app)
    refused = browser.post(f"/console/votes/{opened}/documents", token=browser.token(f"/console/votes/{opened}"),
                           files={"document": ("补充.pdf", PDF, "application/pdf")})
    assert refused.status_code == 400 and FROZEN in refused.text
    assert counts(app) == before


@pytest.mark.parametrize("changes, files, says", [
    ({}, [("documents", ("合同.pdf", b"<html>not a pdf</html>", "application/pdf"))], DOCUMENT_BAD_TYPE),
    ({"item": "7"}, [], "重大事项"),
    ({"item": "5", "kind": "consultation"}, [], "1 到 9"),
    ({"closes": "2026-11-01T18:00"}, [], "截止时间必须晚于"),
    ({"closes": "下周五"}, [], "格式"),
    ({"title": ""}, [], "表决事项"),
    ({"options": "甲"}, [], "候选人至少两位"),
    ({"kind": "bogus"}, [], "类型"),
])
def test_a_bad_form_is_answered_and_changes_nothing(server: str, app: Flask, changes: dict[str, str],
                                                     files: list[Any], says: str) -> None:
    browser = signed_in(server, app)
    before = counts(app)
    answer = create(browser, files=files, **changes)
    assert answer.status_code == 400 and says in answer.text
    assert counts(app) == before


def test_a_form_without_its_csrf_token_changes_nothing(server: str, app: Flask) -> None:
    browser = signed_in(server, app)
    before = counts(app)
    for token in (None, "forged-token"):
        answer = browser.post("/console/votes", FORM, csrf=token is not None, token=token)
        assert answer.status_code == 400
    assert counts(app) == before


def test_too_large_an_upload_is_refused_in_chinese(server: str, app: Flask) -> None:
    browser = signed_in(server, app)
    before = counts(app)
    answer = create(browser, files=[("documents", ("大.pdf", b"%PDF-" + b"0" * (26 * 1024 * 1024),
                                                    "application/pdf"))])
    assert answer.status_code == 413 and "太大" in answer.text
    assert counts(app) == before


def _another_street(app: Flask) -> None:
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(Estate(name="别的小区", community="别的社区", street="别的街道"))


@pytest.mark.parametrize("level, where", [("property", {}), ("grid", {"buildings": "1-3"}),
                                          ("street", {"estate": "别的小区"}),
                                          ("community", {"estate": "别的小区"})])
def test_outsiders_get_403_and_change_nothing(server: str, app: Flask, level: str,
                                              where: dict[str, str]) -> None:
    _another_street(app)
    insider = signed_in(server, app, name="业委会主任")
    number = int(re.search(r"/console/votes/(\d+)", create(insider).headers["Location"]).group(1))
    outsider = signed_in(server, app, level, name="外人", **where)
    token = outsider.token("/console/")
    before = counts(app)
    listing = outsider.get("/console/votes")
    if level in ("street", "community"):  # their level may open the list: their estates' votes only
        assert listing.status_code == 200 and f"#{number}" not in listing.text and "外墙维修" not in listing.text
    else:
        assert listing.status_code == 403
    for path in (f"/console/votes/{number}", f"/console/votes/{number}/ballots.csv",
                 f"/console/votes/{number}/result.xlsx"):
        assert outsider.get(path).status_code == 403, path
    with app.extensions["linli"].sessions() as session:  # a vote named for the insiders' estate
        theirs = session.scalar(select(Estate.id).where(Estate.name != "别的小区").order_by(Estate.id))
    for path, data, files in (("/console/votes", FORM | {"estate": str(theirs)}, None),
                              (f"/console/votes/{number}/close", {}, None),
                              (f"/console/votes/{number}/documents", {},
                               {"document": ("x.pdf", PDF, "application/pdf")})):
        assert outsider.post(path, data, token=token, files=files).status_code == 403, path
    assert counts(app) == before
    assert show(app, number)["state"] == "open"


def test_a_street_operator_runs_votes_of_the_street(server: str, app: Flask) -> None:
    browser = signed_in(server, app, "street", name="街道办")
    assert create(browser).status_code == 302
    assert "表决" in browser.get("/console/").text  # in the menu


def test_a_vote_is_the_estate_chosen_and_counts_its_register(server: str, app: Flask) -> None:
    """With several estates a street operator names the estate; a community operator of another
    community may not name it."""
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(Estate(name="翠竹苑", community="和顺社区", street="龙溪街道"))
        session.add(Estate(name="外社区的小区", community="别的社区", street="龙溪街道"))
    with app.extensions["linli"].sessions() as session:
        second = session.scalar(select(Estate.id).where(Estate.name == "翠竹苑"))
    street = signed_in(server, app, "street", name="街道办")
    assert "翠竹苑" in street.get("/console/votes").text  # offered on the form
    made = create(street, estate=str(second))
    number = int(re.search(r"/console/votes/(\d+)", made.headers["Location"]).group(1))
    with app.extensions["linli"].sessions() as session:
        assert session.get(Vote, number).estate_id == second
    outsider = signed_in(server, app, "community", name="外社区", estate="外社区的小区")
    before = counts(app)
    assert create(outsider, estate=str(second)).status_code == 403
    assert counts(app) == before
