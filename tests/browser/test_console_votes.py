"""/console/votes in Chromium: the committee creates a vote with its proposal and a PDF budget;
an owner opens the proposal from the announcement's link on a phone, with no sign-in."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import OutboxMessage
from tests.conftest import cli
from tests.console_factories import PASSWORD, add_operator
from tests.test_proposals import LINK, PDF


def test_create_a_vote_with_its_proposal_and_an_owner_reads_it_on_a_phone(
        page: Page, server: str, app: Flask, tmp_path: Path) -> None:
    add_operator(app, "业委会主任", "estate")
    budget = tmp_path / "预算.pdf"
    budget.write_bytes(PDF)
    page.goto(f"{server}/console")
    page.fill("#name", "业委会主任")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.click("nav >> text=表决")
    page.fill("input[name=title]", "外墙渗水维修")
    page.select_option("select[name=kind]", "owners_ordinary")
    page.fill("input[name=item]", "5")
    page.fill("input[name=closes]", "2026-12-05T18:00")
    page.fill("textarea[name=proposal]", "预算 186,400.00 元，从专项维修资金列支。\n施工期 20 天。")
    page.set_input_files("input[name=documents]", str(budget))
    page.click("#vote-create")
    expect(page.locator(".notice")).to_contain_text("已开始并通知了业主和居民群")
    expect(page.locator("#vote-state")).to_have_text("进行中")
    expect(page.locator("#proposal-files")).to_contain_text("预算.pdf")
    link = page.locator("#proposal-link").inner_text()

    with app.extensions["linli"].sessions() as session:
        told = session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == "residents"))
    assert LINK.search(told).group(0) == link  # the group was sent the same link
    page.context.clear_cookies()  # the owner has no console session
    owner = page.context.new_page()
    owner.set_viewport_size({"width": 375, "height": 740})  # a phone
    owner.goto(link.replace("http://127.0.0.1:5000", server))
    expect(owner.locator("h1")).to_have_text("外墙渗水维修")
    expect(owner.locator("#proposal-text")).to_contain_text("施工期 20 天")
    assert owner.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone
    with owner.expect_response(lambda r: "/proposal/file" in r.url) as opened:
        owner.click("#proposal-files >> text=预算.pdf")
    assert opened.value.status == 200 and opened.value.headers["content-type"] == "application/pdf"


def test_the_votes_and_market_pages_fit_a_phone(page: Page, server: str, app: Flask,
                                                tmp_path: Path) -> None:
    add_operator(app, "孙主任", "street")
    (tmp_path / "p.txt").write_text("很长的方案" * 200, encoding="utf-8")
    number = cli(app, "vote", "create", "--title", "选举业委会主任" * 4, "--kind", "owners_ordinary",
                 "--item", "3", "--options", "候选人甲,候选人乙", "--closes", "2026-12-05T18:00",
                 "--proposal", str(tmp_path / "p.txt")).strip().splitlines()[-1][1:]
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{server}/console/login")
    page.fill("#name", "孙主任")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    for path in ("/console/votes", f"/console/votes/{number}", "/console/market"):
        page.goto(server + path)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{path} is {wide}px wider than the phone"
