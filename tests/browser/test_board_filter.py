"""/board in a real browser: reports filed at /sim are listed, and the filters narrow the list."""
from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_sim_page import fresh_resident, say
from tests.test_sim import REPORT, add_staff

GATE = "单元门禁坏了，谁都能进，5栋2单元"


def _filter(page: Page, **chosen: str) -> None:
    """Choose each filter (others back to 全部) and submit the form, as a person would."""
    for name in ("state", "category", "building", "month"):
        page.select_option(f"select[name={name}]", chosen.get(name, ""))
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()


def _listed(page: Page) -> set[int]:
    ids = page.locator("table#board tbody tr[id^=t]").evaluate_all("rows => rows.map(r => r.id)")
    return {int(row_id[1:]) for row_id in ids}


def test_filters_narrow_the_board(page: Page, server: str, app: Flask) -> None:
    add_staff(app)
    fresh_resident(page, server)
    lift = int(re.search(r"#(\d+)", say(page, REPORT)).group(1))
    gate = int(re.search(r"#(\d+)", say(page, GATE)).group(1))
    page.select_option("#sim-who", label="张伟 · 网格员")
    say(page, f"接单 #{lift}")

    page.goto(f"{server}/board")
    assert _listed(page) == {lift, gate}
    expect(page.locator(f"#t{lift}")).to_contain_text("3栋")
    expect(page.locator("table#board")).not_to_contain_text("有人被困")  # words only once publishable

    _filter(page, building="3")
    assert "building=3" in page.url
    assert _listed(page) == {lift}
    _filter(page, category="security")
    assert _listed(page) == {gate}
    _filter(page, state="claimed")
    assert _listed(page) == {lift}
    month = page.locator("select[name=month] option:not([value=''])").first.get_attribute("value")
    _filter(page, month=month, building="5")
    assert _listed(page) == {gate}
    _filter(page, state="claimed", building="5")
    assert _listed(page) == set()
    expect(page.locator("table#board")).to_contain_text("没有符合条件的工单")
