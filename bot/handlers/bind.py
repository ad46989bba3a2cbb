"""Bind a home: an owner who gives the last four digits of the registered phone is
verified at once; anyone else waits for staff to confirm (确认绑定 / 拒绝绑定). Guesses are
capped per sender and per estate, never per home (models/binding.py): after a wrong guess,
or once a cap is reached, a binding simply waits for staff, and the answer never says how
many tries are left."""
from __future__ import annotations

import hmac
import re
import unicodedata

from sqlalchemy import select

from intents import Parse
from bot import notify, outbox
from bot.commands import STAFF_COMMANDS, staff_command
from bot.replies.bind import (BIND_ALREADY, BIND_CONFIRMED, BIND_NEED_HOME, BIND_NOT_STAFF,
                              BIND_NO_SUCH_HOME, BIND_PENDING_CHECK, BIND_PENDING_OWNER,
                              BIND_PENDING_TENANT, BIND_REFUSED, BIND_REQUEST, BIND_TOO_MANY,
                              BIND_VERIFIED, BIND_WRONG_DIGITS, STAFF_BIND_CONFIRMED,
                              STAFF_BIND_HELP, STAFF_BIND_NONE, STAFF_BIND_REFUSED,
                              STAFF_BIND_SPIKE, STAFF_BIND_WHICH)
from bot.turn import StaffTurn, Turn
from models import Estate, Home, Resident, binding, covering
from models.estate import ROLE_NAMES
from models.estates import homes_named, resident_estate
from models.ratelimit import bucket_key
from models.votes import withdraw

TENANT_MARKERS = ("租户", "租客", "租的", "租房")  # "绑定 5栋2单元1203 租户": binds a tenant
DIGIT_RUN = re.compile(r"\d+")
REQUEST = re.compile(r"^(?:[#＃]\s*(\d{1,9}))?\s*(.*)$", re.S)  # after the home: [#申请编号] [原因]
DECIDERS = ("grid", "property")  # the levels asked to confirm a binding (`_pending`)


def bind_home(turn: Turn, parse: Parse) -> str:
    """Register the resident's home, verified when the phone digits match the register."""
    text = unicodedata.normalize("NFKC", parse.text)
    if text.lstrip().startswith(STAFF_COMMANDS.staff_only_words()):
        return BIND_NOT_STAFF  # confirming is for staff; this sender is not registered
    if not (parse.building and parse.unit and parse.room):
        return BIND_NEED_HOME
    label = f"{parse.building}栋{parse.unit}单元{parse.room}"
    home = _home(turn, parse.building, parse.unit, parse.room)
    if home is None:
        return BIND_NO_SUCH_HOME.format(home=label)
    resident = turn.resident
    if resident.home_id == home.id and resident.verified:
        return BIND_ALREADY.format(home=label)
    sender = bucket_key("wechat", resident.openid)
    if not binding.may_bind(turn.session, sender, turn.now):
        return BIND_TOO_MANY
    binding.record_binding(turn.session, sender, home.id, turn.now)
    tenant = any(marker in text for marker in TENANT_MARKERS)
    if resident.home_id is not None:  # rebinding: what they voted as the old household goes
        withdraw(turn.session, resident.id, turn.now)
    resident.home_id, resident.role, resident.verified = home.id, "tenant" if tenant else "owner", False
    if tenant:
        return _pending(turn, home, BIND_PENDING_TENANT.format(home=label))
    digits = phone_digits(text, parse.room)
    if digits is None:
        return _pending(turn, home, BIND_PENDING_OWNER.format(home=label))
    if not binding.may_check_digits(turn.session, sender, home.id, turn.now):
        return _pending(turn, home, BIND_PENDING_CHECK.format(home=label))  # right or wrong alike
    tail = home.owner.phone_tail if home.owner else ""
    if tail and hmac.compare_digest(tail.encode(), digits.encode()):
        resident.verified = True
        return BIND_VERIFIED.format(home=label)
    if binding.record_wrong(turn.session, sender, home.id, turn.now):
        _alert_spike(turn)
    return _pending(turn, home, BIND_WRONG_DIGITS.format(home=label))


def _home(turn: Turn, building: str, unit: str, room: str) -> Home | None:
    """The home named, in the estate the resident said they live in (before binding), else in the
    one estate that has it; a bound resident's own estate first, else wherever it is (the dialogue
    asked first when several estates have it)."""
    chosen = turn.resident.estate_id if turn.resident.home_id is None else None
    found = homes_named(turn.session, building, unit, room, chosen)
    if not found and chosen is not None:  # not in the estate they named: the one estate that has it
        found = homes_named(turn.session, building, unit, room)
        found = found if len(found) == 1 else []
    mine = resident_estate(turn.session, turn.resident)
    return next((h for h in found if h.unit.building.estate_id == mine), found[0] if found else None)


def _alert_spike(turn: Turn) -> None:
    """Tell the property staff (and their group) that the estate's guesses reached the cap."""
    text = STAFF_BIND_SPIKE.format(count=binding.ESTATE_FAILURES)
    key = f"bind-spike:{turn.now:%Y%m%d%H%M}"
    mine = resident_estate(turn.session, turn.resident)
    estate = turn.session.get(Estate, mine) if mine is not None else None
    notify.to_each(turn.session, covering(turn.session, "property", None, estate=estate), text, key=key,
                   now=turn.now)
    notify.to_group(turn.services, turn.session, "property", text, key=f"{key}:group", now=turn.now)


def _pending(turn: Turn, home: Home, answer: str) -> str:
    """Ask the home's grid worker (else the property staff) to confirm, once per request."""
    b, u, r = home.unit.building.number, home.unit.number, home.room
    estate = home.unit.building.estate
    people = covering(turn.session, "grid", b, u, r, estate) \
        or covering(turn.session, "property", b, u, r, estate)
    text = BIND_REQUEST.format(home=home.label, number=turn.resident.id,
                                       role=ROLE_NAMES[turn.resident.role or "owner"])
    notify.to_each(turn.session, people, text, key=f"bind:{turn.resident.id}:{home.id}:{turn.resident.role}",
                   now=turn.now)
    return answer


def phone_digits(text: str, room: str) -> str | None:
    """Return the four digits written after the room number, if any."""
    runs = DIGIT_RUN.findall(text)
    if len(runs) >= 2 and len(runs[-1]) == 4 and runs[-2].lstrip("0") == room.lstrip("0"):
        return runs[-1]
    return None


# Binding decisions: only the levels asked, and only for a home their coverage takes in (the
# registry checks both before the decision, bot/commands.py).
@staff_command("确认绑定", usage="确认绑定 5栋2单元1203", staff_only=True, home=True,
               levels=DECIDERS, missing=STAFF_BIND_HELP)
def confirm_binding(turn: StaffTurn, home: Home, rest: str) -> str:
    """确认绑定 5栋2单元1203 [#申请编号]: the waiting resident becomes verified."""
    return _decide(turn, home, rest, accept=True)


@staff_command("拒绝绑定", usage="拒绝绑定 5栋2单元1203 原因", staff_only=True, home=True,
               levels=DECIDERS, missing=STAFF_BIND_HELP, continues="确认绑定",
               help=" / 拒绝绑定 5栋2单元1203 原因")
def reject_binding(turn: StaffTurn, home: Home, rest: str) -> str:
    """拒绝绑定 5栋2单元1203 [#申请编号] [原因]: the waiting resident is unbound and told why."""
    return _decide(turn, home, rest, accept=False)


def _decide(turn: StaffTurn, home: Home, rest: str, *, accept: bool) -> str:
    match = REQUEST.match(rest)
    assert match is not None  # every text matches
    label = home.label
    waiting = list(turn.session.scalars(select(Resident).where(
        Resident.home_id == home.id, Resident.verified.is_(False)).order_by(Resident.id)))
    if match.group(1):
        waiting = [r for r in waiting if r.id == int(match.group(1))]
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
        withdraw(turn.session, resident.id, turn.now)
        resident.home_id, resident.role = None, None
        reason = match.group(2).strip()
        text = BIND_REFUSED.format(home=label, reason=f"（{reason}）" if reason else "")
    outbox.enqueue(turn.session, key=f"bind:{resident.id}:{home.id}:{'ok' if accept else 'no'}:"
                   f"{turn.now.isoformat()}", channel="wechat", recipient=resident.openid,
                   body=text, now=turn.now, kind="ticket_update")
    done = STAFF_BIND_CONFIRMED if accept else STAFF_BIND_REFUSED
    return done.format(home=label, role=role, number=resident.id)
