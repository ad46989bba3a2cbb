"""The vote form of /console/votes, read and checked field by field: a bad field gets a Chinese
sentence saying what to write, before `models.votes.create` is asked (whose own checks speak to
the command line)."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from models.votes import KINDS, MAJOR_ITEMS, OWNERS_KINDS, PLAIN
from web.proposals import KIND_NAMES

FORM_TITLE = "请填写表决事项（200 字以内）。"
FORM_KIND = "请选择表决类型。"
FORM_ITEM = "民法典第二百七十八条的事项编号应为 1 到 9，只用于业主共同决定。"
FORM_ITEM_KIND = "第 {item} 项{which}，请选择“{kind}”。"
FORM_OPTIONS = "候选人至少两位、名字不能重复，也不能叫同意、反对或弃权；不填则为同意/反对/弃权。"
FORM_TIME = "时间请按 2026-12-20 18:00 的格式填写。"
FORM_CLOSES = "截止时间必须晚于开始时间，且在现在之后。"


class FormError(ValueError):
    """A field of the vote form that cannot be used; the message says what to write."""


def checked(form: Any, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """The form's fields as `models.votes.create` takes them, each checked with a Chinese answer."""
    title = form.get("title", "").strip()
    if not title or len(title) > 200:
        raise FormError(FORM_TITLE)
    kind = form.get("kind", "")
    if kind not in KINDS:
        raise FormError(FORM_KIND)
    item = _item(form.get("item", "").strip(), kind)
    labels = [c.strip() for c in form.get("options", "").replace("，", ",").split(",") if c.strip()]
    if labels and (len(labels) < 2 or len(set(labels)) != len(labels) or set(labels) & set(PLAIN)
                   or any(len(label) > 50 for label in labels)):
        raise FormError(FORM_OPTIONS)
    opens = _moment(form.get("opens", ""), tz) or now
    closes = _moment(form.get("closes", ""), tz)
    if closes is None or closes <= max(opens, now):
        raise FormError(FORM_CLOSES)
    return {"title": title, "kind": kind, "item": item, "candidates": labels, "opens_at": opens,
            "closes_at": closes}


def _item(text: str, kind: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 9 or kind not in OWNERS_KINDS:
        raise FormError(FORM_ITEM)
    item = int(text)
    if (item in MAJOR_ITEMS) != (kind == "owners_major"):
        major = item in MAJOR_ITEMS
        raise FormError(FORM_ITEM_KIND.format(item=item, which="是重大事项" if major else "是一般事项",
                                              kind=KIND_NAMES["owners_major" if major else "owners_ordinary"]))
    return item


def _moment(text: str, tz: tzinfo) -> datetime | None:
    """A time from the form (`datetime-local`, in the estate's zone); None when left empty."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise FormError(FORM_TIME) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
