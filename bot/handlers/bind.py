"""Bind a home: an owner who gives the last four digits of the registered phone is
verified at once; anyone else waits for staff to confirm (确认绑定 / 拒绝绑定). Five wrong
guesses in a row lock the home's digits for a day, so the register cannot be guessed."""
from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import datetime

from sqlalchemy import select

from intents import Parse
from bot import notify, outbox
from bot.commands import STAFF_COMMANDS, staff_command
from bot.replies.bind import (BIND_ALREADY, BIND_CONFIRMED, BIND_LOCKED, BIND_NEED_HOME,
                              BIND_NOT_STAFF, BIND_NO_SUCH_HOME, BIND_PENDING_OWNER,
                              BIND_PENDING_TENANT, BIND_REFUSED, BIND_REQUEST, BIND_TRIES_LEFT,
                              BIND_VERIFIED, BIND_WRONG_DIGITS, STAFF_BIND_CONFIRMED,
                              STAFF_BIND_HELP, STAFF_BIND_NONE, STAFF_BIND_REFUSED,
                              STAFF_BIND_WHICH)
from bot.turn import StaffTurn, Turn
from models import Home, Resident, covering, find_home
from models.estate import ROLE_NAMES
from models.households import BindingLock, MAX_FAILURES, locked_until, record_digits

TENANT_MARKERS = ("租户", "租客", "租的", "租房")  # "绑定 5栋2单元1203 租户": binds a tenant
DIGIT_RUN = re.compile(r"\d+")
STAFF_HOME = re.compile(r"^(\d+)\s*(?:栋|幢|号楼|-)\s*(\d+)\s*(?:单元|-)\s*(\d+)\s*室?\s*"
                        r"(?:[#＃]\s*(\d+))?\s*(.*)$", re.S)


def bind_home(turn: Turn, parse: Parse) -> str:
    """Register the resident's home, verified when the phone digits match the register."""
    text = unicodedata.normalize("NFKC", parse.text)
    if text.lstrip().startswith(STAFF_COMMANDS.staff_only_words()):
        return BIND_NOT_STAFF  # confirming is for staff; this sender is not registered
    if not (parse.building and parse.unit and parse.room):
        return BIND_NEED_HOME
    label = f"{parse.building}栋{parse.unit}单元{parse.room}"
    home = find_home(turn.session, parse.building, parse.unit, parse.room)
    if home is None:
        return BIND_NO_SUCH_HOME.format(home=label)
    resident = turn.resident
    if resident.home_id == home.id and resident.verified:
        return BIND_ALREADY.format(home=label)
    tenant = any(marker in text for marker in TENANT_MARKERS)
    resident.home_id, resident.role, resident.verified = home.id, "tenant" if tenant else "owner", False
    if tenant:
        return _pending(turn, home, BIND_PENDING_TENANT.format(home=label))
    digits = phone_digits(text, parse.room)
    if digits is None:
        return _pending(turn, home, BIND_PENDING_OWNER.format(home=label))
    until = locked_until(turn.session, home, turn.now)
    if until is not None:
        return _pending(turn, home, _locked(turn, label, until))
    phone = home.owner.phone if home.owner else ""
    right = bool(phone) and hmac.compare_digest(phone[-4:].encode(), digits.encode())
    until = record_digits(turn.session, home, right, turn.now)
    if right:
        resident.verified = True
        return BIND_VERIFIED.format(home=label)
    if until is not None:
        return _pending(turn, home, _locked(turn, label, until))
    left = MAX_FAILURES - turn.session.get(BindingLock, home.id).failures
    return _pending(turn, home, BIND_WRONG_DIGITS.format(home=label)
                    + BIND_TRIES_LEFT.format(left=left))


def _locked(turn: Turn, label: str, until: datetime) -> str:
    return BIND_LOCKED.format(home=label,
                                      until=turn.services.local(until).strftime("%m-%d %H:%M"))


def _pending(turn: Turn, home: Home, answer: str) -> str:
    """Ask the home's grid worker (else the property staff) to confirm, once per request."""
    b, u, r = home.unit.building.number, home.unit.number, home.room
    people = covering(turn.session, "grid", b, u, r) or covering(turn.session, "property", b, u, r)
    text = BIND_REQUEST.format(home=home.label, number=turn.resident.id,
                                       role=ROLE_NAMES[turn.resident.role or "owner"])
    for member in people:
        notify.to_staff(turn.session, member, text, now=turn.now,
                        key=f"bind:{turn.resident.id}:{home.id}:{turn.resident.role}:staff:{member.id}")
    return answer


def phone_digits(text: str, room: str) -> str | None:
    """Return the four digits written after the room number, if any."""
    runs = DIGIT_RUN.findall(text)
    if len(runs) >= 2 and len(runs[-1]) == 4 and runs[-2].lstrip("0") == room.lstrip("0"):
        return runs[-1]
    return None


@staff_command("确认绑定", usage="确认绑定 5栋2单元1203", staff_only=True)
def confirm_binding(turn: StaffTurn, rest: str) -> str:
    """确认绑定 5栋2单元1203 [#申请编号]: the waiting resident becomes verified."""
    return _decide(turn, rest, accept=True)


@staff_command("拒绝绑定", usage="拒绝绑定 5栋2单元1203 原因", staff_only=True,
               continues="确认绑定", help=" / 拒绝绑定 5栋2单元1203 原因")
def reject_binding(turn: StaffTurn, rest: str) -> str:
    """拒绝绑定 5栋2单元1203 [#申请编号] [原因]: the waiting resident is unbound and told why."""
    return _decide(turn, rest, accept=False)


def _decide(turn: StaffTurn, rest: str, *, accept: bool) -> str:
    match = STAFF_HOME.match(unicodedata.normalize("NFKC", rest).strip())
    if not match:
        return STAFF_BIND_HELP
    home = find_home(turn.session, match.group(1), match.group(2), match.group(3))
    label = f"{match.group(1)}栋{match.group(2)}单元{match.group(3)}"
    if home is None:
        return BIND_NO_SUCH_HOME.format(home=label)
    waiting = list(turn.session.scalars(select(Resident).where(
        Resident.home_id == home.id, Resident.verified.is_(False)).order_by(Resident.id)))
    if match.group(4):
        waiting = [r for r in waiting if r.id == int(match.group(4))]
    if not waiting:
        return STAFF_BIND_NONE.format(home=label)
    if len(waiting) > 1:
        return STAFF_BIND_WHICH.format(home=label, first=waiting[0].id,
                                               numbers="、".join(str(r.id) for r in waiting))
    resident, role = waiting[0], ROLE_NAMES[waiting[0].role or "owner"]
    if accept:
        resident.verified = True
        text = BIND_CONFIRMED.format(home=label, role=role)
    else:
        resident.home_id, resident.role = None, None
        reason = match.group(5).strip()
        text = BIND_REFUSED.format(home=label, reason=f"（{reason}）" if reason else "")
    outbox.enqueue(turn.session, key=f"bind:{resident.id}:{home.id}:{'ok' if accept else 'no'}:"
                   f"{turn.now.isoformat()}", channel="wechat", recipient=resident.openid,
                   body=text, now=turn.now, kind="ticket_update")
    done = STAFF_BIND_CONFIRMED if accept else STAFF_BIND_REFUSED
    return done.format(home=label, role=role, number=resident.id)
