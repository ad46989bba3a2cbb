"""Excel for the street office (issue 17): `flask export tickets|figures|vote` write .xlsx files that
LibreOffice opens with the numbers of /stats, dates as dates, figures as numbers, no formulas."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from openpyxl import load_workbook

from models.workbook import FIGURE_ROWS
from tests.conftest import START, cli
from tests.factories import WeChatPeer
from tests.test_board import seed
from tests.test_votes import FORMULAS, bind, create_vote, owners, show


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the spreadsheets as files, the same on either database."""
    return sqlite_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# every sheet to its own UTF-8 file (LibreOffice 7.2+: the 12th token, -1)
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
NOVEMBER = START - timedelta(days=20)  # 2026-11-08
OCTOBER = datetime(2026, 10, 20, 2, 0, tzinfo=SHANGHAI)


def tickets_of_two_months(app: Flask) -> list[int]:
    """Problems in November (fixed, rated, reopened, open, overdue), a suggestion, one in October."""
    def fixed(hours: float, rating: int | None, level: str = "grid", **more: Any) -> dict[str, Any]:
        return {"created_at": NOVEMBER, "first_response_at": NOVEMBER + timedelta(minutes=hours * 7),
                "resolved_at": NOVEMBER + timedelta(hours=hours), "state": "closed",
                "rating": rating, "level": level, **more}
    return seed(app, [
        fixed(5, 5), fixed(30, 2, "property"), fixed(50, 4, reopen_count=1, category="water"),
        fixed(8, None, state="resolved", building="5"),
        {"created_at": NOVEMBER + timedelta(days=1), "state": "open", "category": "noise",
         "place": "=HYPERLINK(\"http://evil.example\")", "building": None,
         "public_text": "=1+1 楼下吵"},
        {"created_at": NOVEMBER + timedelta(days=19), "state": "claimed",
         "first_response_at": NOVEMBER + timedelta(days=19, minutes=20)},
        {"created_at": NOVEMBER + timedelta(days=2), "kind": "suggestion", "category": None,
         "state": "open"},
        fixed(12, 5, created_at=OCTOBER, first_response_at=OCTOBER + timedelta(hours=1),
              resolved_at=OCTOBER + timedelta(hours=12)),
    ])


def to_csv(tmp_path: Path, *books: Path) -> dict[str, list[list[str]]]:
    """Open the files in headless LibreOffice and save every sheet as CSV: {"file-sheet": rows}."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: .ci/run installs libreoffice-calc-nogui")
    out = tmp_path / "csv"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                    "--convert-to", CSV_FILTER, "--outdir", str(out), *map(str, books)],
                   check=True, capture_output=True, timeout=300)
    return {f.stem: list(csv.reader(f.read_text(encoding="utf-8").splitlines())) for f in out.glob("*.csv")}


def number(text: str) -> Any:
    """A cell as LibreOffice shows it, back to the figure: 63.16% -> 0.6316, "" -> None."""
    if text == "":
        return None
    if text.endswith("%"):
        return round(float(text[:-1]) / 100, 4)
    return float(text) if "." in text else int(text)


def figures_in(rows: list[list[str]]) -> dict[str, Any]:
    labels = {label for label, _path, _format in FIGURE_ROWS}
    return {row[0]: number(row[1]) for row in rows if row and row[0] in labels}


def expected(found: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for label, path, _format in FIGURE_ROWS:
        value = found
        for key in path:
            value = value[key]
        out[label] = value
    return out


def test_tickets_open_in_libreoffice_with_the_numbers_of_stats(app: Flask, tmp_path: Path) -> None:
    ids = tickets_of_two_months(app)
    month, everything = tmp_path / "out.xlsx", tmp_path / "all.xlsx"
    assert "wrote" in cli(app, "export", "tickets", "--month", "2026-11", "-o", str(month))
    cli(app, "export", "tickets", "-o", str(everything))
    sheets = to_csv(tmp_path, month, everything)
    stats = app.test_client().get("/stats.json").get_json()
    [november] = [m for m in stats["months"] if m["month"] == "2026-11"]
    assert figures_in(sheets["out-汇总"]) == expected(november)
    with app.app_context():  # as `flask` gives every command
        summary = json.loads(cli(app, "stats", "--json"))
    assert figures_in(sheets["all-汇总"]) == expected(summary)
    assert november["tickets"]["total"] == 6  # the suggestion and October's ticket are not in it
    listed = [int(row[0]) for row in sheets["out-工单"][1:]]
    assert sorted(listed) == sorted(ids[:7]) and ids[7] not in listed  # suggestions are listed too
    assert sheets["out-工单"][0][:5] == ["编号", "类别", "类别代码", "位置", "状态"]


def test_cells_are_dates_numbers_and_harmless_text(app: Flask, tmp_path: Path) -> None:
    ids = tickets_of_two_months(app)
    out = tmp_path / "out.xlsx"
    cli(app, "export", "tickets", "--month", "2026-11", "-o", str(out))
    book = load_workbook(out)
    sheet = book["工单"]
    head = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(head, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    first = rows[ids[0]]
    assert isinstance(first["受理时间"], datetime) and first["受理时间"].tzinfo is None
    assert first["受理时间"] == NOVEMBER.astimezone(SHANGHAI).replace(tzinfo=None)  # wall time there
    assert first["办结时间"] == (NOVEMBER + timedelta(hours=5)).astimezone(SHANGHAI).replace(tzinfo=None)
    assert first["评价（星）"] == 5 and isinstance(first["办理天数"], int)
    assert (first["类别"], first["位置"], first["状态"]) == ("电梯", "3栋", "已办结")
    noisy = rows[ids[4]]
    assert noisy["位置"].startswith("'=") and noisy["公示内容"] == "'=1+1 楼下吵"  # shown, never run
    assert all(not str(v).startswith(("=", "+", "-", "@")) for r in rows.values() for v in r.values()
               if isinstance(v, str))
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["报修工单（件）"] == 6 and isinstance(summary["网格层级办结率"], float)
    assert book["汇总"]["B1"].value == "数值" and book["工单"].freeze_panes == "A2"


def test_the_boards_filters_choose_the_tickets(app: Flask, tmp_path: Path) -> None:
    ids = tickets_of_two_months(app)
    out = tmp_path / "water.xlsx"
    cli(app, "export", "tickets", "--category", "water", "--state", "closed", "-o", str(out))
    book = load_workbook(out)
    assert [r[0] for r in book["工单"].iter_rows(min_row=2, values_only=True)] == [ids[2]]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["筛选：类别"] == "water" and "报修工单（件）" not in summary  # figures need no filter
    cli(app, "export", "tickets", "--building", "5栋", "--state", "overdue", "-o", str(out))
    assert [r[0] for r in load_workbook(out)["工单"].iter_rows(min_row=2, values_only=True)] == []
    runner = app.test_cli_runner()
    for bad in (["--month", "2026-13"], ["--building", "99"], ["--state", "lost"], ["-o", "x.csv"]):
        args = ["export", "tickets", "-o", str(tmp_path / "bad.xlsx"), *bad]
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and not (tmp_path / "bad.xlsx").exists(), bad


def test_figures_for_a_month_are_those_of_stats(app: Flask, tmp_path: Path) -> None:
    tickets_of_two_months(app)
    out = tmp_path / "figures.xlsx"
    cli(app, "export", "figures", "--month", "2026-10", "-o", str(out))
    sheets = to_csv(tmp_path, out)
    stats = app.test_client().get("/stats.json").get_json()
    months = {m["month"]: m for m in stats["months"]}
    assert figures_in(sheets["figures-2026-10"]) == expected(months["2026-10"])
    trend = sheets["figures-历月"]
    assert [row[0] for row in trend[1:]] == ["2026-10"]  # up to the month asked for
    assert [number(v) for v in trend[1][1:]] == list(expected(months["2026-10"]).values())
    empty = tmp_path / "empty.xlsx"
    cli(app, "export", "figures", "--month", "2025-01", "-o", str(empty))
    summary = {r[0]: r[1] for r in load_workbook(empty)["2025-01"].iter_rows(values_only=True)}
    assert summary["报修工单（件）"] == 0 and summary["满意率"] is None


def test_a_votes_result_and_register(peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    number = create_vote(app, "--title", "=选举业委会主任", "--kind", "owners_ordinary", "--item", "3",
                         "--options", ",".join(FORMULAS[:2]))
    for i, (phone, label, _) in enumerate(owners(app)[:3]):
        bind(peer, f"oVoter{i}", label, phone)
        assert "已记录" in (peer.say(f"#{number} 选{i % 2 + 1}", openid=f"oVoter{i}") or "")
    out = tmp_path / "vote.xlsx"
    cli(app, "export", "vote", str(number), "-o", str(out))
    open_book = load_workbook(out)
    head = {r[0]: r[1] for r in open_book["表决结果"].iter_rows(values_only=True) if r and r[0]}
    assert head["标题"] == "'=选举业委会主任" and head["结果"] == "表决进行中，尚无结果"
    cli(app, "vote", "close", str(number))
    cli(app, "export", "vote", str(number), "-o", str(out))
    shown = show(app, number)
    book = load_workbook(out)
    rows = list(book["表决结果"].iter_rows(values_only=True))
    table = rows[rows.index(next(r for r in rows if r[0] == "选项")) + 1:]
    assert [(r[0], r[1], Decimal(str(r[2])).quantize(Decimal("0.01"))) for r in table] == \
        [("'" + o["option"] if o["option"] != "abstain" else "弃权", o["heads"], Decimal(o["area"]))
         for o in shown["options"]]
    assert all(r[7] == "否" for r in table) and shown["passed"] is False  # no quorum: fails
    head = {r[0]: r[1] for r in rows if r and r[0]}
    assert head["结果"] == "未达到法定参与比例，表决无效"
    assert isinstance(head["截止时间"], datetime) and isinstance(head["表决编号"], int)
    register = {r[0]: r[1:] for r in book["名册汇总"].iter_rows(values_only=True)}
    assert register["有表决权的户数/人数"][0] == shown["eligible_heads"]
    assert Decimal(str(register["有表决权的面积（㎡）"][0])).quantize(Decimal("0.01")) == \
        Decimal(shown["eligible_area"])
    assert register["参与户数/人数"][0] == shown["voted_heads"] == 3
    assert register["人数参与率"][1] == f"3/{shown['eligible_heads']}"  # the exact fraction beside
    assert register["登记房屋（套）"][0] == 1059 and register["名册"][0] == "截止时冻结的名册"
    result = app.test_cli_runner().invoke(args=["export", "vote", "999", "-o", str(out)])
    assert result.exit_code != 0 and "no vote #999" in result.output
