"""/console in Chromium: sign in, import a household file, add a grid worker, take a ticket from the
queue; the resident is told in chat. Then the same pages at a phone's width."""
from __future__ import annotations

import re
import time
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Staff, Ticket
from tests.conftest import cli
from tests.console_factories import PASSWORD, add_operator
from tests.factories import OPENID, WeChatPeer
from tests.fakes import FakeWeChat

REGISTER = ("building,unit,room,area_m2,owner_name,phone\n"
            "31,1,101,88.50,周一,13800001111\n31,1,102,90,吴二,13800002222\n")


def test_sign_in_import_add_a_grid_worker_and_take_a_ticket(
        page: Page, server: str, app: Flask, peer: WeChatPeer, fake_wechat: FakeWeChat,
        tmp_path: Path) -> None:
    cli(app, "staff", "add", "--id", "wangfang", "--channel", "wecom", "--name", "王芳",
        "--role", "property")
    add_operator(app, "王芳", "property", staff="wangfang")
    number = int(re.search(r"#(\d+)", peer.say("3栋2单元楼道灯坏了，晚上看不见") or "").group(1))

    page.goto(f"{server}/console")
    page.fill("#name", "王芳")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("#my-level")).to_have_text("物业")

    page.click("text=住户名册")
    register = tmp_path / "名册.csv"
    register.write_text(REGISTER, encoding="utf-8")
    page.set_input_files("#register", str(register))
    page.click("#check")
    expect(page.locator("#preview")).to_contain_text("新增 2")
    page.click("#apply")
    expect(page.locator("#import-done")).to_contain_text("已导入 2 户")

    page.click("text=工作人员")
    page.fill("#user_id", "chen")
    page.fill("#staff-name", "陈网格")
    page.select_option("#role", "grid")
    page.fill("#buildings", "6-8")
    page.click("#save-staff")
    expect(page.locator("#staff")).to_contain_text("陈网格")
    with app.extensions["linli"].sessions() as session:
        assert session.scalar(select(Staff.role).where(Staff.user_id == "chen")) == "grid"

    page.click("nav >> text=工单")
    page.click(f"#queue >> text=#{number}")
    page.click("#do-claim")
    expect(page.locator(".notice")).to_contain_text(f"已接单 #{number}")
    expect(page.locator("#t-state")).to_have_text("处理中")
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).assignee.name == "王芳"
    deadline = time.monotonic() + 10
    while not any(b["touser"] == OPENID and "王芳" in b["text"]["content"]
                  for b in fake_wechat.sent()):
        assert time.monotonic() < deadline, "the resident was not told"
        time.sleep(0.05)

    page.click("nav >> text=工单")  # the queue's tickets, as a spreadsheet
    with page.expect_download() as download:
        page.click("#tickets-export button")
    assert download.value.suggested_filename == "tickets-all.xlsx"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    sheet = load_workbook(saved)["工单"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [number]


def test_the_pages_fit_a_phone(page: Page, server: str, app: Flask, peer: WeChatPeer) -> None:
    add_operator(app, "孙主任", "street")
    peer.say("3栋2单元楼道灯坏了，晚上看不见")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{server}/console/login")
    page.fill("#name", "孙主任")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    for path in ("/console/", "/console/tickets", "/console/households", "/console/staff",
                 "/console/outbox", "/console/audit", "/console/tickets/1", "/console/figures"):
        page.goto(server + path)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{path} is {wide}px wider than the phone"
