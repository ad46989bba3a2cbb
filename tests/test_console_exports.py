"""/console/figures and the console's .xlsx downloads: each operator gets their own estates'
tickets and figures (a grid worker their buildings'), with the numbers of /stats."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from models import Estate, Ticket, transaction
from models.console import AuditEntry
from tests.conftest import cli
from tests.console_factories import ConsoleBrowser, add_operator
from tests.test_estates import CUIZHU, estate_id, second_estate
from tests.test_figures import add_tickets
from web.console.exports import XLSX

GARDEN = "邻里花园"  # the demo estate, 和顺社区 of 龙溪街道, as 翠竹苑
WEST = "西苑"  # 白沙社区, also of 龙溪街道
OCTOBER = datetime(2026, 10, 10, 2, 0, tzinfo=timezone.utc)
NOVEMBER = datetime(2026, 11, 3, 2, 0, tzinfo=timezone.utc)


def fixed(created: datetime, respond: int, hours: int, **more: Any) -> dict[str, Any]:
    return {"created_at": created, "first_response_at": created + timedelta(minutes=respond),
            "resolved_at": created + timedelta(hours=hours), "state": "closed", **more}


@pytest.fixture
def street(app: Flask, tmp_path: Path) -> dict[str, int]:
    """Three estates of one street, tickets in each, October and November, fixed and open."""
    second_estate(app, tmp_path)
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(Estate(name=WEST, community="白沙社区", street="龙溪街道"))
    ids = {name: estate_id(app, name) for name in (GARDEN, CUIZHU, WEST)}
    garden, cuizhu, west = ids[GARDEN], ids[CUIZHU], ids[WEST]
    add_tickets(app, [
        fixed(OCTOBER, 10, 2, rating=5, estate_id=garden),
        fixed(NOVEMBER, 20, 4, rating=2, estate_id=garden, building="5", category="water",
              level="property"),
        {"created_at": NOVEMBER, "estate_id": garden, "building": "9"},  # open, overdue by now
        {"created_at": NOVEMBER, "estate_id": garden, "kind": "suggestion", "category": None},
        fixed(NOVEMBER, 30, 1, rating=4, estate_id=cuizhu),
        {"created_at": NOVEMBER, "estate_id": cuizhu, "building": "1"},
        fixed(NOVEMBER, 5, 3, rating=5, estate_id=west, building="2"),
    ])
    for name, level, estate, buildings in (("街道办", "street", GARDEN, None),
                                           ("和顺社区", "community", GARDEN, None),
                                           ("白沙社区", "community", WEST, None),
                                           ("花园小区", "estate", GARDEN, None),
                                           ("翠竹小区", "estate", CUIZHU, None),
                                           ("花园网格", "grid", GARDEN, "1-5")):
        add_operator(app, name, level, estate=estate, buildings=buildings)
    return ids


def browser_of(server: str, name: str) -> ConsoleBrowser:
    browser = ConsoleBrowser(server)
    assert browser.sign_in(name).status_code == 302
    return browser


def workbook_of(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == XLSX
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return load_workbook(io.BytesIO(response.content))


def ticket_numbers(book: Any) -> list[int]:
    return sorted(row[0] for row in book["工单"].iter_rows(min_row=2, values_only=True))


def summary(sheet: Any) -> dict[str, Any]:
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row}


def stats(server: str, **query: str) -> dict[str, Any]:
    return requests.get(f"{server}/stats.json", params=query, timeout=30).json()


def all_numbers(app: Flask, *estates: int) -> list[int]:
    with app.extensions["linli"].sessions() as session:
        return sorted(session.scalars(select(Ticket.id).where(Ticket.estate_id.in_(estates))))


def test_each_operators_tickets_workbook_holds_exactly_their_tickets(
        app: Flask, server: str, street: dict[str, int]) -> None:
    garden, cuizhu, west = street[GARDEN], street[CUIZHU], street[WEST]
    expected = {"街道办": all_numbers(app, garden, cuizhu, west),
                "和顺社区": all_numbers(app, garden, cuizhu),
                "白沙社区": all_numbers(app, west),
                "花园小区": all_numbers(app, garden),
                "翠竹小区": all_numbers(app, cuizhu)}
    for name, numbers in expected.items():
        book = workbook_of(browser_of(server, name).get("/console/exports/tickets.xlsx", state="all"))
        assert ticket_numbers(book) == numbers, name
    # a grid worker of 1-5栋: the garden's tickets there (not 9栋's), none of other estates' 1栋
    grid = workbook_of(browser_of(server, "花园网格").get("/console/exports/tickets.xlsx", state="all"))
    places = [row[3] for row in grid["工单"].iter_rows(min_row=2, values_only=True)]
    assert len(places) == 3 and set(places) == {"3栋", "5栋"}
    assert "1栋" not in places and "9栋" not in places
    assert "网格楼栋" in summary(grid["汇总"]) and "报修工单（件）" not in summary(grid["汇总"])
    # the queue's default ("active": not done) and its filters carry over
    active = workbook_of(browser_of(server, "花园小区").get("/console/exports/tickets.xlsx",
                                                        state="active"))
    assert {row[4] for row in active["工单"].iter_rows(min_row=2, values_only=True)} <= {"待受理"}
    assert len(ticket_numbers(active)) == 2
    # one estate of a street's, chosen
    one = workbook_of(browser_of(server, "街道办").get("/console/exports/tickets.xlsx",
                                                    estate=cuizhu, state="all"))
    assert ticket_numbers(one) == all_numbers(app, cuizhu)
    assert summary(one["汇总"])["范围"] == CUIZHU


def test_the_tickets_workbooks_figures_are_stats_for_the_same_estates_and_month(
        app: Flask, server: str, street: dict[str, int]) -> None:
    book = workbook_of(browser_of(server, "花园小区").get("/console/exports/tickets.xlsx",
                                                      month="2026-11"))
    shown = summary(book["汇总"])
    month = {m["month"]: m for m in stats(server, estate=GARDEN)["months"]}["2026-11"]
    assert shown["报修工单（件）"] == month["tickets"]["total"] == 2  # the suggestion is not counted
    assert shown["未办结（件）"] == month["tickets"]["open"] == 1
    assert shown["已超时（件）"] == month["tickets"]["overdue"]
    assert shown["网格层级办结率"] == month["grid_resolved_share"]
    assert shown["满意率"] == month["satisfaction_rate"]
    assert shown["导出工单（件，含建议）"] == 3 == len(ticket_numbers(book))


def test_the_monthly_figures_workbook_has_the_numbers_of_stats(
        app: Flask, server: str, street: dict[str, int]) -> None:
    book = workbook_of(browser_of(server, "和顺社区").get("/console/exports/figures.xlsx",
                                                      month="2026-11"))
    ours = stats(server, community="和顺社区")
    month = {m["month"]: m for m in ours["months"]}["2026-11"]
    shown = summary(book["2026-11"])
    assert shown["范围"] == f"{GARDEN}、{CUIZHU}" or shown["范围"] == f"{CUIZHU}、{GARDEN}"
    assert shown["报修工单（件）"] == month["tickets"]["total"] == 4  # 西苑's is not the community's
    assert shown["已办结（件）"] == month["tickets"]["resolved"]
    assert shown["首次响应用时中位数（分钟）"] == month["first_response_minutes"]["median"]
    assert shown["办结用时中位数（小时）"] == month["resolve_hours"]["median"]
    assert shown["满意率"] == month["satisfaction_rate"]
    side = {row[0]: row[1:] for row in book["各小区"].iter_rows(min_row=2, values_only=True)}
    assert set(side) == {GARDEN, CUIZHU}
    for name in side:
        one = {m["month"]: m for m in stats(server, estate=name)["months"]}["2026-11"]
        assert side[name][0] == one["tickets"]["total"]
    assert [row[0] for row in book["历月"].iter_rows(min_row=2, values_only=True)] == ["2026-10", "2026-11"]
    # one estate: no side-by-side sheet; a month written wrong is refused in words
    single = workbook_of(browser_of(server, "翠竹小区").get("/console/exports/figures.xlsx",
                                                        month="2026-11"))
    assert "各小区" not in single.sheetnames
    assert summary(single["2026-11"])["报修工单（件）"] == \
        {m["month"]: m for m in stats(server, estate=CUIZHU)["months"]}["2026-11"]["tickets"]["total"]
    bad = browser_of(server, "翠竹小区").get("/console/exports/figures.xlsx", month="2026-13")
    assert bad.status_code == 400 and "2026-11 这样的年-月" in bad.text


def test_every_download_is_in_the_audit_log(app: Flask, server: str, street: dict[str, int]) -> None:
    browser = browser_of(server, "翠竹小区")
    workbook_of(browser.get("/console/exports/tickets.xlsx", state="all"))
    workbook_of(browser.get("/console/exports/figures.xlsx", month="2026-10"))
    with app.extensions["linli"].sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("导出.%"))
                                  .order_by(AuditEntry.id)).all()
        assert [(e.operator_name, e.action, e.estate_id) for e in entries] == [
            ("翠竹小区", "导出.工单", street[CUIZHU]), ("翠竹小区", "导出.统计", street[CUIZHU])]
        assert entries[0].outcome == "xlsx 2 tickets" and "2026-10" in entries[1].target


def test_outsiders_get_nothing_of_another_estate_and_bad_filters_are_refused(
        app: Flask, server: str, street: dict[str, int]) -> None:
    cuizhu = browser_of(server, "翠竹小区")
    for path in ("/console/exports/tickets.xlsx", "/console/exports/figures.xlsx"):
        refused = cuizhu.get(path, estate=street[GARDEN], month="2026-11")
        assert refused.status_code == 403 and XLSX not in refused.headers["Content-Type"]
    assert browser_of(server, "白沙社区").get("/console/exports/tickets.xlsx",
                                              estate=street[CUIZHU]).status_code == 403
    grid = browser_of(server, "花园网格")
    assert grid.get("/console/exports/figures.xlsx", month="2026-11").status_code == 403
    assert grid.get("/console/figures").status_code == 403
    outside = grid.get("/console/exports/tickets.xlsx", building="9")  # the estate's, not theirs
    assert outside.status_code == 400 and "9" in outside.text
    for query in ({"state": "nonsense"}, {"category": "x"}, {"month": "11/2026"}):
        bad = cuizhu.get("/console/exports/tickets.xlsx", **query)
        assert bad.status_code == 400 and ("导出" in bad.text or "年-月" in bad.text), query
    with app.extensions["linli"].sessions() as session:
        assert not session.scalars(select(AuditEntry).where(AuditEntry.action.like("导出.%"))).all()


def figure_cards(html: str) -> dict[str, dict[str, str]]:
    """Each estate's card on /console/figures: its name and figures by class."""
    out = {}
    for card in re.findall(r'<article class="card estate-figures"[^>]*>(.*?)</article>', html, re.S):
        name = re.search(r"<h2>(.*?)</h2>", card).group(1)
        out[name] = dict(re.findall(r'<dd class="(\w+)">(.*?)</dd>', card))
    return out


def test_a_street_operator_sees_every_estates_figures_side_by_side(
        app: Flask, server: str, street: dict[str, int]) -> None:
    page = browser_of(server, "街道办").get("/console/figures")
    assert page.status_code == 200
    assert "script" not in page.text and "style=" not in page.text  # the strict CSP holds
    assert 'name="viewport"' in page.text
    cards = figure_cards(page.text)
    assert set(cards) == {GARDEN, CUIZHU, WEST, "合计（3 个小区）"}
    league = {row["estate"]: row for row in stats(server, street="龙溪街道")["estates"]}
    for name in (GARDEN, CUIZHU, WEST):
        row = league[name]
        assert cards[name]["total"] == f"{row['tickets']['total']} 件"
        assert cards[name]["open"] == f"{row['tickets']['open']} 件"
        assert cards[name]["overdue"] == f"{row['overdue']} 件"
        median = row["resolve_hours"]["median"]
        assert cards[name]["resolve"] == ("—" if median is None else f"{median:.1f} 小时")
        rate = row["satisfaction_rate"]
        assert cards[name]["satisfaction"] == ("—" if rate is None else f"{rate * 100:.1f}%")
    assert cards[GARDEN]["total"] == "3 件" and cards[WEST]["grid"] == "100.0%"
    assert cards["合计（3 个小区）"]["total"] == f"{stats(server, street='龙溪街道')['overall']['tickets']['total']} 件"
    assert 'href="/console/figures"' in page.text  # in the menu


def test_a_community_operator_sees_only_their_communitys_estates(
        app: Flask, server: str, street: dict[str, int]) -> None:
    assert set(figure_cards(browser_of(server, "和顺社区").get("/console/figures").text)) == \
        {GARDEN, CUIZHU, "合计（2 个小区）"}
    assert set(figure_cards(browser_of(server, "白沙社区").get("/console/figures").text)) == {WEST}
    assert set(figure_cards(browser_of(server, "翠竹小区").get("/console/figures").text)) == {CUIZHU}


def test_the_queue_and_the_figures_page_link_their_downloads(
        app: Flask, server: str, street: dict[str, int]) -> None:
    browser = browser_of(server, "和顺社区")
    queue = browser.get("/console/tickets", state="all", category="water").text
    form = re.search(r'<form[^>]*id="tickets-export"[^>]*>(.*?)</form>', queue, re.S)
    assert form and 'action="/console/exports/tickets.xlsx"' in queue
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    assert fields == {"state": "all", "category": "water"}
    book = workbook_of(browser.get("/console/exports/tickets.xlsx", **fields))
    assert {row[2] for row in book["工单"].iter_rows(min_row=2, values_only=True)} == {"water"}
    figures_page = browser.get("/console/figures").text
    assert 'id="figures-export"' in figures_page and "/console/exports/figures.xlsx" in figures_page


def test_a_ticket_of_no_estate_is_the_first_estates_as_in_the_queue(
        app: Flask, server: str, street: dict[str, int]) -> None:
    add_tickets(app, [{"created_at": NOVEMBER, "building": "3"}])  # filed before its estate was known
    with app.extensions["linli"].sessions() as session:
        unplaced = session.scalar(select(Ticket.id).where(Ticket.estate_id.is_(None)))
    garden = browser_of(server, "花园小区")
    queue = garden.get("/console/tickets", state="all").text
    assert f">#{unplaced}<" in queue
    assert unplaced in ticket_numbers(workbook_of(garden.get("/console/exports/tickets.xlsx", state="all")))
    theirs = workbook_of(browser_of(server, "翠竹小区").get("/console/exports/tickets.xlsx", state="all"))
    assert unplaced not in ticket_numbers(theirs)


def test_the_command_line_exports_an_estate_a_community_or_a_street_as_the_console_does(
        app: Flask, server: str, street: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "cuizhu.xlsx"
    cli(app, "export", "tickets", "--estate", CUIZHU, "-o", str(out))
    assert ticket_numbers(load_workbook(out)) == all_numbers(app, street[CUIZHU]) == ticket_numbers(
        workbook_of(browser_of(server, "翠竹小区").get("/console/exports/tickets.xlsx", state="all")))
    cli(app, "export", "figures", "--month", "2026-11", "--community", "和顺社区", "-o", str(out))
    ours = summary(load_workbook(out)["2026-11"])
    theirs = summary(workbook_of(browser_of(server, "和顺社区").get("/console/exports/figures.xlsx",
                                                                  month="2026-11"))["2026-11"])
    assert set(ours.pop("范围").split("、")) == set(theirs.pop("范围").split("、")) == {GARDEN, CUIZHU}
    assert ours == theirs and ours["报修工单（件）"] == 4
    refused = app.test_cli_runner().invoke(args=["export", "figures", "--month", "2026-11",
                                                 "--street", "别的街道", "-o", str(out)])
    assert refused.exit_code != 0 and "--estate/--community/--street" in refused.output
