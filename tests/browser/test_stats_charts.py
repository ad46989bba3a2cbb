"""/stats in a real browser: a report filed at /sim is counted, and every chart is drawn."""
from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_sim_page import fresh_resident, say
from tests.test_sim import REPORT, add_staff

# For each canvas: its size, and how many of its pixels are not transparent.
INKED = """canvases => canvases.map(c => {
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { inked += 1; } }
  return {id: c.id, width: c.width, height: c.height, inked: inked};
})"""


def test_a_report_from_the_simulator_is_charted(page: Page, server: str, app: Flask) -> None:
    add_staff(app)
    fresh_resident(page, server)
    say(page, REPORT)
    say(page, "单元门禁坏了，谁都能进，5栋2单元")

    page.goto(f"{server}/stats")
    expect(page.locator("#fig-total")).to_have_text("2")
    canvases = page.locator("canvas")
    assert canvases.count() >= 6
    expect(page.locator("canvas:not([data-drawn='1'])")).to_have_count(0)
    for canvas in canvases.evaluate_all(INKED):
        assert canvas["width"] > 100 and canvas["height"] > 100, canvas
        assert canvas["inked"] > 500, f"{canvas['id']} is blank"
