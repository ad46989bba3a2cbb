"""/sim in a real browser: a resident writes something unclear, gets numbered choices, answers
with a number and is understood (issue 13, "Done when")."""
from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page

from models import LabelledExample, Ticket
from tests.browser.test_sim_page import fresh_resident, say
from tests.test_clarify import numbered, unclear


def test_an_unclear_message_gets_numbered_choices_and_a_number_is_understood(
        page: Page, server: str, app: Flask) -> None:
    said, offered = unclear()
    fresh_resident(page, server)
    reported = say(page, "3栋2单元电梯坏了")
    assert "#1" in reported
    asked = say(page, said)
    assert "您是想" in asked and len(numbered(asked)) == len(offered)
    understood = say(page, str(offered.index("query_status") + 1))
    assert "您最近的工单" in understood and "#1" in understood
    with app.extensions["linli"].sessions() as session:
        assert session.query(Ticket).count() == 1
        [example] = session.query(LabelledExample).all()
        assert (example.text, example.intent) == (said, "query_status")
