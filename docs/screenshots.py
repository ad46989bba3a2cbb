"""Take the README's screenshots: /sim after a report and a claim, /board, /stats.

    .venv/bin/python docs/screenshots.py [sim] [board] [stats]

Builds the demo estate with its half year of history in a temporary SQLite file,
serves the app on 127.0.0.1 with WeChat's and WeCom's APIs faked (nothing leaves
the machine), and drives Debian's headless Chromium (/usr/bin/chromium; never a
downloaded browser) to each page. Writes docs/sim.png, docs/board.png, docs/stats.png.
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from app import create_app  # noqa: E402
from models import transaction  # noqa: E402
from models import demo as demo_estate  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from tests.browser.conftest import ARGS, CHROMIUM  # noqa: E402
from tests.browser.test_sim_page import say  # noqa: E402
from tests.fakes import FakeWeChat, Served  # noqa: E402

REPORT = "3栋电梯坏了，有人被困"


def serve_demo(workdir: Path) -> tuple[Served, Served]:
    """The app on a fresh demo estate (with history), its outbound calls going to a fake."""
    fake = FakeWeChat()
    api = Served(fake)
    base = api.url
    app = create_app({"config_path": str(HERE.parent / "config.example.toml"), "overrides": {
        "database.url": f"sqlite:///{workdir / 'demo.db'}",
        "wechat.api_base_url": f"{base}/cgi-bin/", "wecom.api_base_url": f"{base}/cgi-bin/",
        "wecom.group_webhooks": {role: f"{base}/cgi-bin/webhook/send?key={role}"
                                 for role in ("grid", "property", "estate", "residents")}}})
    services = app.extensions["linli"]
    upgrade(services.engine, hash_key=services.config.hash_key)
    with transaction(services.sessions) as session:
        demo_estate.load(session, "邻里花园", "和顺社区", "龙溪街道", key=services.config.hash_key)
    return Served(app), api


def shoot_sim(page: Page, url: str) -> None:
    """A resident in building 3 reports, the grid worker claims, the resident hears back."""
    page.goto(f"{url}/sim")
    resident = page.locator("#sim-who option", has_text=re.compile(r"^3栋")).first.get_attribute("value")
    page.select_option("#sim-who", resident)
    number = re.search(r"#(\d+)", say(page, REPORT)).group(1)
    expect(page.locator("#sim-groups")).to_contain_text(f"#{number}")
    page.select_option("#sim-who", label="网格员2号 · 网格员")
    expect(page.locator("#sim-pushes")).to_contain_text(f"#{number}")
    say(page, f"接单 #{number}")
    page.select_option("#sim-who", resident)
    expect(page.locator("#sim-pushes")).to_contain_text("网格员2号")
    say(page, "我报的电梯修好没")
    page.screenshot(path=str(HERE / "sim.png"), full_page=True)


def shoot_board(page: Page, url: str) -> None:
    page.goto(f"{url}/board")
    expect(page.locator("table#board")).to_be_visible()
    page.screenshot(path=str(HERE / "board.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1440, "height": 1100})


def shoot_stats(page: Page, url: str) -> None:
    page.goto(f"{url}/stats")
    canvases = page.locator("canvas")
    expect(canvases.first).to_be_visible()
    expect(page.locator("canvas:not([data-drawn='1'])")).to_have_count(0)
    charts = page.locator("section.charts").bounding_box()  # the key figures and the charts
    height = int(charts["y"] + charts["height"] + 24) if charts else 1800
    page.screenshot(path=str(HERE / "stats.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1440, "height": height})


SHOTS = {"sim": shoot_sim, "board": shoot_board, "stats": shoot_stats}


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in SHOTS]
    if unknown:
        raise SystemExit(f"unknown page(s): {', '.join(unknown)}; choose from {', '.join(SHOTS)}")
    with tempfile.TemporaryDirectory(prefix="linli-shots-") as tmp:
        server, api = serve_demo(Path(tmp))
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path=str(CHROMIUM), headless=True,
                    args=ARGS, viewport={"width": 1440, "height": 900}, locale="zh-CN",
                    timezone_id="Asia/Shanghai", device_scale_factor=1)
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(20_000)
                for name in names or list(SHOTS):
                    SHOTS[name](page, server.url)
                    print(f"wrote docs/{name}.png")
                context.close()
        finally:
            server.close()
            api.close()


if __name__ == "__main__":
    main(sys.argv[1:])
