"""/console/staff: the staff who handle tickets and what they cover, as `flask staff add|remove`.

An operator manages staff of their estates at or below their own level (the `staff` target
checks one member; adding checks the level given).
"""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.services import current as services
from models import Estate, Staff
from models.categories import CATEGORIES, category_name
from models.staff import LEVEL_NAMES, LEVELS, register, unregister
from web.console import area, audit, bp, forbidden, levels, operator, render, scope
from web.console.scope import default_estate, estates_in, home_estate, staff_estate

MANAGERS = ("property", "estate", "community", "street")
CHANNELS = {"wecom": "企业微信", "wechat": "微信公众号"}
BAD_COVERAGE = "覆盖范围写法不对：楼栋写成 1-5,8；单元或住户写成 3-2 或 3-2-501。"
BAD_FIELDS = "请填写账号、渠道、姓名和层级。"
ADDED = "已登记工作人员 {name}（{level}）。"
REMOVED = "已移除工作人员 {name}；其未办结的工单 {count} 张已退回所在层级的待办。"


@bp.get("/staff")
@levels(*MANAGERS)
def staff_list() -> tuple[str, int]:
    """The staff the operator manages, and the form to add one."""
    with services().sessions() as db:
        members = [_row(m) for m in _managed(db)]
        estates = estates_in(db, scope())
    return render("console/staff.html", members=members, roles=_roles(), channels=CHANNELS,
                  categories=CATEGORIES, estates=estates)


@bp.post("/staff")
@levels(*MANAGERS)
def staff_add() -> Response | tuple[str, int]:
    """Register a staff member (or update the one with that channel id)."""
    with services().sessions() as db:
        form = _form(db)
    if form is None:
        return _again(BAD_FIELDS)
    try:
        with services().transaction() as db:
            existing = db.scalar(select(Staff).where(Staff.user_id == form["user_id"],
                                                     Staff.channel == form["channel"]))
            if existing is not None and not scope().covers_staff(db, existing):
                forbidden()
            _save(db, "staff:add", form, existing)
    except ValueError:  # CoverageError, or an unknown category: nothing was kept
        return _again(BAD_COVERAGE)
    return _saved(form)


@bp.get("/staff/<int:staff>")
@levels(*MANAGERS)
def staff_page(staff: int) -> tuple[str, int]:
    """One staff member's details and coverage, to edit."""
    with services().sessions() as db:
        member = _row(db.get(Staff, staff))
    return render("console/staff_edit.html", m=member, roles=_roles(), channels=CHANNELS,
                  categories=CATEGORIES)


@bp.post("/staff/<int:staff>")
@levels(*MANAGERS)
def staff_edit(staff: int) -> Response | tuple[str, int]:
    """Change a staff member's name, level, coverage or categories."""
    try:
        with services().transaction() as db:
            member = db.get(Staff, staff)
            form = _form(db, member, user_id=member.user_id, channel=member.channel)
            if form is None:
                return _again(BAD_FIELDS)
            _save(db, "staff:edit", form, member)
    except ValueError:  # CoverageError, or an unknown category: nothing was kept
        return _again(BAD_COVERAGE)
    return _saved(form)


@bp.post("/staff/<int:staff>/remove")
@levels(*MANAGERS)
def staff_remove(staff: int) -> Response:
    """Remove a staff member; their open tickets go back to their level's queue."""
    with services().transaction() as db:
        member = db.get(Staff, staff)
        before, estate_id = _row(member), staff_estate(db, member)
        count = unregister(db, member)
        said = REMOVED.format(name=before["name"], count=count)
        audit(db, action="staff:remove", target_name=f"{before['name']}（{before['user_id']}）",
              estate_id=estate_id, outcome=said,
              changes={k: (before[k], None) for k in ("name", "role", "coverage", "categories")})
    flash(said, "ok")
    return redirect(url_for("console.staff_list"), 303)


def _form(db: Session, member: Staff | None = None, **fixed: str) -> dict[str, str | None] | None:
    """The staff form's fields, or None when one that is needed is missing or unknown."""
    form = {"user_id": request.form.get("user_id", "").strip()[:64],
            "channel": request.form.get("channel", ""), "name": request.form.get("name", "").strip()[:50],
            "role": request.form.get("role", ""),
            "buildings": request.form.get("buildings", "").replace("，", ",").replace(" ", "")[:200],
            "homes": request.form.get("homes", "").replace("，", ",").replace(" ", "")[:300],
            "categories": ",".join(c for c in request.form.getlist("categories") if c)[:300]}
    form |= fixed
    if not (form["user_id"] and form["name"]) or form["channel"] not in CHANNELS \
            or form["role"] not in LEVELS:
        return None
    form |= _placement(db, member)
    if form["role"] not in _roles():  # above the operator's own level
        forbidden()
    return form


def _placement(db: Session, member: Staff | None) -> dict[str, str | None]:
    """Where the new or edited member acts: the estate chosen on the form (the guard has checked
    it is the operator's), else where an edited member acts now, else the operator's own estate;
    a community officer, that estate's community."""
    chosen = request.form.get("estate", "").strip()
    estate = db.get(Estate, int(chosen)) if chosen.isdigit() else None
    if estate is None and member is not None:
        estate = db.get(Estate, staff_estate(db, member) or 0)
        if member.community and estate is not None:
            return {"estate_name": estate.name, "community": member.community}
    if estate is None:
        estate = db.get(Estate, home_estate(db, operator()) or 0)
    if estate is None:
        return {"estate_name": None, "community": None}
    return {"estate_name": estate.name, "community": estate.community}


def _roles() -> dict[str, str]:
    """The levels the operator may give: their own and below."""
    return {level: LEVEL_NAMES[level] for level in LEVELS if scope().at_least(level)}


def _managed(db: Session) -> list[Staff]:
    reach = scope()
    return [m for m in db.scalars(select(Staff).order_by(Staff.role, Staff.name, Staff.id))
            if reach.covers_staff(db, m)]


def _row(member: Staff) -> dict[str, Any]:
    homes = ",".join("-".join(filter(None, (c.building, c.unit, c.room)))
                     for c in member.coverage if c.unit)
    return {"id": member.id, "user_id": member.user_id, "channel": member.channel,
            "name": member.name, "role": member.role, "level": LEVEL_NAMES[member.role],
            "buildings": member.buildings, "homes": homes,
            "coverage": ",".join(filter(None, (member.buildings, homes))) or "全小区",
            "categories": member.categories,
            "category_names": "、".join(category_name(c) for c in member.categories.split(",") if c)}


def _save(db: Session, action: str, form: dict[str, Any], existing: Staff | None) -> None:
    """Register the member as the form says (adding or editing), and audit the change."""
    before = _row(existing) if existing is not None else {}
    _audit(db, action, register(db, **form), before)


def _saved(form: dict[str, Any]) -> Response:
    flash(ADDED.format(name=form["name"], level=LEVEL_NAMES[form["role"]]), "ok")
    return redirect(url_for("console.staff_list"), 303)


def _audit(db: Session, action: str, member: Staff, before: dict[str, Any]) -> None:
    db.flush()
    db.refresh(member)
    after = _row(member)
    audit(db, action=action, target_name=f"{after['name']}（{after['user_id']}）",
          estate_id=staff_estate(db, member) or default_estate(db),
          outcome=ADDED.format(name=after["name"], level=after["level"]),
          changes={k: (before.get(k), after[k]) for k in ("name", "role", "coverage", "categories")})


def _again(error: str) -> tuple[str, int]:
    with services().sessions() as db:
        members = [_row(m) for m in _managed(db)]
        estates = estates_in(db, scope())
    return render("console/staff.html", 400, members=members, roles=_roles(), channels=CHANNELS,
                  categories=CATEGORIES, estates=estates, error=error)


area("console.staff_list", "工作人员")
