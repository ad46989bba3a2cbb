"""/console/households: every bad row is named before anything changes; a good file is applied on
confirmation, as `flask import-households` would."""
from __future__ import annotations

import pytest

import re

from flask import Flask
from sqlalchemy import func, select

from models import Home, Owner
from models.console import AuditEntry
from tests.console_factories import ConsoleBrowser, add_operator


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's register upload (the import itself: test_households),
    the same on either database."""
    return sqlite_database

HEADER = "building,unit,room,area_m2,owner_name,phone\n"
GOOD = HEADER + "31,1,101,88.50,周一,13800001111\n31,1,102,90,吴二,13800002222\n"
BAD = (HEADER + "31,1,101,88.50,周一,13800001111\n"   # row 2: fine
       "31,x,102,90,吴二,13800002222\n"               # row 3: unit is not a number
       "31,1,103,-5,郑三,13800003333\n"               # row 4: area
       "31,1,101,70,王四,13800004444\n"               # row 5: the home of row 2 again
       "31,1,105,70,冯五,12ab\n")                     # row 6: phone


def counts(app: Flask) -> tuple[int, int]:
    with app.extensions["linli"].sessions() as session:
        return (session.scalar(select(func.count()).select_from(Home)),
                session.scalar(select(func.count()).select_from(Owner)))


def signed_in(app: Flask, server: str) -> ConsoleBrowser:
    add_operator(app, "王芳", "property")
    browser = ConsoleBrowser(server)
    browser.sign_in("王芳")
    return browser


def estate_id(browser: ConsoleBrowser) -> str:
    page = browser.get("/console/households")
    return re.search(r'<option value="(\d+)">邻里花园', page.text).group(1)


def upload(browser: ConsoleBrowser, text: str, estate: str, **extra: str):  # type: ignore[no-untyped-def]
    return browser.post("/console/households/check", {"estate": estate, **extra},
                        files={"register": ("名册.csv", text.encode("utf-8"), "text/csv")})


def test_every_bad_row_is_named_and_nothing_changes(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    before = counts(app)
    page = upload(browser, BAD, estate_id(browser))
    assert page.status_code == 422
    for said in ("第 3 行，单元", "第 4 行，面积", "第 5 行，房号", "第 2 行出现", "第 6 行，手机号",
                 "没有导入任何内容"):
        assert said in page.text, said
    assert "第 2 行，" not in page.text  # the good row is not named
    assert counts(app) == before


def test_a_good_file_is_rehearsed_then_applied_on_confirmation(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    homes, owners = counts(app)
    preview = upload(browser, GOOD, estate_id(browser))
    assert preview.status_code == 200 and "新增 2" in preview.text
    assert counts(app) == (homes, owners)  # checking changes nothing
    register = re.search(r"<textarea name=\"register\" hidden>(.*?)</textarea>", preview.text, re.S)
    applied = browser.post("/console/households/apply",
                           {"estate": estate_id(browser), "register": GOOD})
    assert register and applied.status_code == 200 and "已导入 2 户" in applied.text
    assert counts(app) == (homes + 2, owners + 2)
    with app.extensions["linli"].sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action != "sign_in")).one()
    assert entry.action == "households:import" and entry.operator_name == "王芳"
    assert f'"homes": [{homes}, {homes + 2}]' in entry.changes


def test_a_tampered_confirmation_is_checked_again(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    before = counts(app)
    refused = browser.post("/console/households/apply", {"estate": estate_id(browser), "register": BAD})
    assert refused.status_code == 422 and "第 3 行" in refused.text and counts(app) == before


def test_not_utf8_and_no_file_are_answered(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    estate = estate_id(browser)
    gbk = browser.post("/console/households/check", {"estate": estate},
                       files={"register": ("名册.csv", GOOD.replace("周一", "周一").encode("gbk"),
                                           "text/csv")})
    assert gbk.status_code == 400 and "UTF-8" in gbk.text
    none = browser.post("/console/households/check", {"estate": estate})
    assert none.status_code == 400 and "请选择" in none.text


def test_a_register_over_64_kb_is_taken(app: Flask, server: str) -> None:
    browser = signed_in(app, server)
    rows = "".join(f"40,{u},{r},80,业主{u}{r},139{u:04d}{r:04d}\n" for u in range(1, 6)
                   for r in range(101, 600))
    assert len(HEADER + rows) > 64 * 1024
    preview = upload(browser, HEADER + rows, estate_id(browser))
    assert preview.status_code == 200 and "新增 2495" in preview.text
