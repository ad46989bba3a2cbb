"""Bind a home: an owner who gives the last four digits of the registered phone is
verified at once; anyone else waits for staff to confirm."""
from __future__ import annotations

import hmac
import re
import unicodedata

from intents import Parse
from bot import replies
from bot.turn import Turn
from models import find_home

DIGIT_RUN = re.compile(r"\d+")


def bind_home(turn: Turn, parse: Parse) -> str:
    """Register the resident's home, verified when the phone digits match the register."""
    if not (parse.building and parse.unit and parse.room):
        return replies.BIND_NEED_HOME
    label = f"{parse.building}栋{parse.unit}单元{parse.room}"
    home = find_home(turn.session, parse.building, parse.unit, parse.room)
    if home is None:
        return replies.BIND_NO_SUCH_HOME.format(home=label)
    resident = turn.resident
    if resident.home_id == home.id and resident.verified:
        return replies.BIND_ALREADY.format(home=label)
    text = unicodedata.normalize("NFKC", parse.text)
    tenant = any(marker in text for marker in replies.TENANT_MARKERS)
    resident.home_id, resident.role, resident.verified = home.id, "tenant" if tenant else "owner", False
    if tenant:
        return replies.BIND_PENDING_TENANT.format(home=label)
    digits = phone_digits(text, parse.room)
    if digits is None:
        return replies.BIND_PENDING_OWNER.format(home=label)
    phone = home.owner.phone if home.owner else ""
    if phone and hmac.compare_digest(phone[-4:].encode(), digits.encode()):
        resident.verified = True
        return replies.BIND_VERIFIED.format(home=label)
    return replies.BIND_WRONG_DIGITS.format(home=label)


def phone_digits(text: str, room: str) -> str | None:
    """Return the four digits written after the room number, if any."""
    runs = DIGIT_RUN.findall(text)
    if len(runs) >= 2 and len(runs[-1]) == 4 and runs[-2].lstrip("0") == room.lstrip("0"):
        return runs[-1]
    return None
