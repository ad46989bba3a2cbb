"""Open311 services: our categories as GeoReport v2 services, and the few that ask for more.

A category that needs more than a place and a description to be handled well has
attributes (the spec's service definition): a lift fault asks which floor, and whether
someone is shut in (which makes it urgent, as a resident saying so in chat does).
What a platform answers is written into the ticket's words, where staff read it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from models import board
from models.categories import BY_CODE
from web import board as board_page
from web.open311_format import Open311Error

OPEN311_DESCRIPTION = "小区{name}问题：{keywords}等。"
OPEN311_SUGGESTION = "对小区管理和设施的建议。"
OPEN311_ATTRIBUTE_ERRORS = {
    "unknown": "服务 {service} 没有 {code} 这一项，请先查看 services/{service}.xml（或 .json）。",
    "required": "请填写 attribute[{code}]：{description}",
    "choice": "attribute[{code}] 只能是 {choices} 之一。",
    "too_long": "attribute[{code}] 太长了（不超过{limit}字）。",
    "multiple": "attribute[{code}] 只能填一个值。",
}


@dataclass(frozen=True)
class Attribute:
    """One more thing a service asks for (the spec's `attribute`), and how the ticket says it."""

    code: str
    datatype: str  # the spec's: "string" or "singlevaluelist" (the only two we use)
    description: str  # the question the platform shows its user
    shown: str  # how the answer joins the ticket's words: "{value}" or "{name}" (a choice's name)
    datatype_description: str | None = None
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (key, name) of each choice
    limit: int = 20  # characters a string answer may have
    urgent_when: str | None = None  # the choice that makes the ticket urgent


ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "elevator": (
        Attribute("floor", "string", "电梯停在哪一层（或在哪一层出的问题）？", "（{value}层）",
                  datatype_description="楼层数字，地下层写负数，如 12、-1", limit=10),
        Attribute("trapped", "singlevaluelist", "电梯里有人被困吗？", "（{name}）",
                  values=(("yes", "有人被困"), ("no", "没有人被困")), urgent_when="yes"),
    ),
}


def service_list() -> list[dict[str, Any]]:
    """Every service: our categories, then suggestions, with the spec's fields in its order."""
    listed = []
    for code in board_page.CATEGORIES:
        name = board_page.category_name(code)
        keywords = BY_CODE[code].keywords
        listed.append({
            "service_code": code, "service_name": name,
            "description": OPEN311_SUGGESTION if code == board.SUGGESTION
            else OPEN311_DESCRIPTION.format(name=name, keywords=keywords.replace(",", "、")),
            "metadata": code in ATTRIBUTES, "type": "realtime", "keywords": keywords,
            "group": BY_CODE[code].group})
    return listed


def definition(code: str) -> dict[str, Any]:
    """A service's definition: its attributes (none for most), in the spec's shape."""
    return {"service_code": code, "attributes": [
        {"variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
         "datatype_description": a.datatype_description, "order": order,
         "description": a.description,
         **({"values": [{"key": key, "name": name} for key, name in a.values]}
            if a.values else {})}
        for order, a in enumerate(ATTRIBUTES.get(code, ()), start=1)]}


def answers(code: str, form: Mapping[str, Any]) -> tuple[str, bool]:
    """Read `attribute[code]=value` from a POST: the words they add to the ticket, and urgency.

    `form` is the request's form (a MultiDict); an attribute the service does not have, a
    choice it does not offer or a missing required one is refused.
    """
    asked = {a.code: a for a in ATTRIBUTES.get(code, ())}
    given: dict[str, list[str]] = {}
    for key in form:
        if key.startswith("attribute["):
            name = key[len("attribute["):].removesuffix("[]").removesuffix("]")
            if name not in asked:
                raise Open311Error(400, OPEN311_ATTRIBUTE_ERRORS["unknown"].format(
                    service=code, code=name[:20]))
            given.setdefault(name, []).extend(v.strip() for v in form.getlist(key) if v.strip())
    words, urgent = "", False
    for attribute in asked.values():
        values = given.get(attribute.code, [])
        if not values:
            if attribute.required:
                raise Open311Error(400, OPEN311_ATTRIBUTE_ERRORS["required"].format(
                    code=attribute.code, description=attribute.description))
            continue
        words += _said(attribute, values)
        urgent = urgent or values[0] == attribute.urgent_when
    return words, urgent


def _said(attribute: Attribute, values: list[str]) -> str:
    if len(values) > 1:
        raise Open311Error(400, OPEN311_ATTRIBUTE_ERRORS["multiple"].format(code=attribute.code))
    value = values[0]
    if attribute.values:
        names = dict(attribute.values)
        if value not in names:
            raise Open311Error(400, OPEN311_ATTRIBUTE_ERRORS["choice"].format(
                code=attribute.code, choices="、".join(names)))
        return attribute.shown.format(name=names[value])
    if len(value) > attribute.limit:
        raise Open311Error(400, OPEN311_ATTRIBUTE_ERRORS["too_long"].format(
            code=attribute.code, limit=attribute.limit))
    return attribute.shown.format(value=value)
