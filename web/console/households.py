"""/console/households: upload the register (the CSV of `flask import-households`), see every
bad row named before anything changes, then confirm to apply it.

The checked file travels back with the confirmation in the form (the database never keeps the
raw file: it holds phones only as keyed hashes) and is checked again before it is applied.
"""
from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import current as services
from models import Estate, households
from models.estate import Building, Home, Unit
from web.console import area, audit, bp, levels, render, scope, upload
from web.console.scope import estates_in

LIMIT = 8 * 1024 * 1024  # bytes: a street's largest estate's register, many times over
COLUMN_NAMES = {"building": "楼栋", "unit": "单元", "room": "房号", "area_m2": "面积",
                "owner_name": "业主姓名", "phone": "手机号", "unsold": "未售标记", "header": "表头",
                "": "文件"}
NOT_UTF8 = "文件不是 UTF-8 编码的 CSV。请在表格软件里“另存为 CSV UTF-8”后再上传。"
NO_FILE = "请选择要上传的 CSV 文件。"
DONE = "已导入 {read} 户：新增 {created}，更新 {updated}，删除 {removed}；业主 {owners} 人。"
PREVIEW = ("文件检查通过：共 {read} 户。确认导入后新增 {created}，更新 {updated}，删除 {removed}；"
           "业主 {owners} 人。")
MANAGERS = ("property", "estate", "community", "street")


@bp.get("/households")
@levels(*MANAGERS)
def households_page() -> tuple[str, int]:
    """The upload form."""
    return render("console/households.html", estates=_estates(), counts=_counts())


@bp.post("/households/check")
@levels(*MANAGERS)
@upload(LIMIT)
def households_check() -> tuple[str, int]:
    """Check the uploaded file: every bad row, or what applying it would do."""
    file = request.files.get("register")
    if file is None or not file.filename:
        return _again(400, [NO_FILE])
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _again(400, [NOT_UTF8])
    return _checked(text, apply=False)


@bp.post("/households/apply")
@levels(*MANAGERS)
@upload(LIMIT)
def households_apply() -> tuple[str, int]:
    """Apply a checked file (checked again first); record it in the audit log."""
    return _checked(request.form.get("register", ""), apply=True)


def _checked(text: str, *, apply: bool) -> tuple[str, int]:
    estate_id = request.form.get("estate", type=int)
    replace = request.form.get("replace") == "1"
    if estate_id is None or not scope().covers_estate(estate_id):
        return _again(400, ["请选择要导入的小区。"])
    rows, errors = households.check(text)
    if errors:
        return _again(422, [describe(e) for e in errors])
    live = services()
    if not apply:
        with live.sessions() as db:  # a rehearsal: the counts, and nothing kept
            estate = db.get(Estate, estate_id)
            done = households.apply(db, estate, rows, replace=replace, now=live.clock(),
                                    key=live.config.hash_key)
            name = estate.name
            db.rollback()
        return render("console/households_preview.html", said=_said(PREVIEW, rows, done),
                      register=text, estate=name, estate_id=estate_id, replace=replace)
    with live.transaction() as db:
        estate = db.get(Estate, estate_id)
        before = _homes(db, estate_id)
        done = households.apply(db, estate, rows, replace=replace, now=live.clock(),
                                key=live.config.hash_key)
        said = _said(DONE, rows, done)
        audit(db, action="households:import", target_name=estate.name, estate_id=estate_id,
              outcome=said, changes={"homes": (before, _homes(db, estate_id)),
                                     "created": (0, done.created), "updated": (0, done.updated),
                                     "removed": (0, done.removed)})
    return render("console/households.html", estates=_estates(), counts=_counts(), done=said)


def _said(template: str, rows: list[households.Row], done: households.Imported) -> str:
    return template.format(read=len(rows), created=done.created, updated=done.updated,
                           removed=done.removed, owners=done.owners)


def describe(error: households.RegisterError) -> str:
    """A bad row in the operator's words: 第 3 行，手机号：……"""
    reason, _, other = error.reason.partition(":")
    what = households.REASONS[reason].format(value=error.value, other=other)
    if error.line <= 1:
        return f"{COLUMN_NAMES.get(error.column, error.column)}：{what}"
    return f"第 {error.line} 行，{COLUMN_NAMES.get(error.column, error.column)}：{what}"


def _again(status: int, errors: list[str]) -> tuple[str, int]:
    return render("console/households.html", status, estates=_estates(), counts=_counts(),
                  errors=errors)


def _estates() -> list[dict[str, Any]]:
    reach = scope()
    with services().sessions() as db:
        return [{"id": e.id, "name": e.name} for e in estates_in(db, reach)
                if reach.covers_estate(e.id)]


def _counts() -> dict[str, int]:
    with services().sessions() as db:
        return {e["name"]: _homes(db, e["id"]) for e in _estates()}


def _homes(db: Session, estate_id: int) -> int:
    return db.scalar(select(func.count(Home.id)).join(Unit).join(Building)
                     .where(Building.estate_id == estate_id)) or 0


area("console.households_page", "住户名册")
