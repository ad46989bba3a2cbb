"""The simulator channel: `/sim` in a browser speaks to the bot as a resident or a staff member.

Like `wechat.py` and `wecom.py`, this adapter only checks and parses what came in,
names its dedupe key, and hands the message to `bot.inbound.receive` with the real
dialogue; nothing here decides an answer. Residents write on the channel "sim"
(the resident path of the dialogue); staff write on their own channel's name
("wecom" for WeCom staff), so the dialogue takes the staff path and `接单 #N` works
exactly as from WeCom. What a person would receive afterwards is read back from the
outbox: rows addressed to them, and rows to the staff group robots.

It speaks only as made-up people: demo staff and demo residents (`demo` set by demo-data,
`flask staff add --demo`, or here for a resident new in the browser); never as anyone real.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from bot import dialogue
from bot.inbound import Inbound, STALE, receive
from bot.services import Services
from models import Home, InboundMessage, OutboxMessage, Resident, Staff, Unit, resident_for

CHANNEL = "sim"
FRESH = re.compile(r"^sim-[0-9a-f]{12}$")  # a new resident made up in the browser
CLIENT_ID = re.compile(r"^[0-9A-Za-z_-]{8,40}$")  # the browser's id for one message (retries)
IDENTITY = re.compile(r"^(resident|staff):(.{1,64})$")
GROUP_CHANNELS = ("wecom_group", "wecom_response")
PAGE = 100  # rows per poll
TAIL = 40  # rows shown when a person is first picked
RESIDENTS_LISTED = 8
# what the page shows when a message is refused
SIM_BAD_IDENTITY = "请先在左侧选择一位居民或工作人员。"
SIM_REAL_PERSON = "模拟器只能以演示用的居民和工作人员身份发消息，不能冒用真实的人。请在左侧另选一位。"
SIM_EMPTY = "请输入要发送的文字。"
SIM_UNSTORABLE = "消息里有无法保存的字符，请删掉后再发。"
SIM_BAD_REQUEST = "请求格式不对，请刷新页面后重试。"


class SimError(ValueError):
    """A message the simulator refuses; `str()` is the Chinese sentence the page shows."""


@dataclass(frozen=True)
class Identity:
    """Who the browser speaks as, and where that person's messages and pushes are found."""

    kind: str  # "resident" or "staff"
    user_id: str  # openid, or the staff member's WeCom UserID / WeChat openid
    channel: str  # the inbound channel the dialogue sees
    inbox: str  # the outbox channel that reaches this person

    @property
    def token(self) -> str:
        return f"{self.kind}:{self.user_id}"


def identify(session: Session, token: Any) -> Identity:
    """Read "resident:<openid>" or "staff:<id>"; refuse anyone unknown, and anyone real."""
    match = IDENTITY.match(token) if isinstance(token, str) else None
    if match is None:
        raise SimError(SIM_BAD_IDENTITY)
    kind, value = match.groups()
    if kind == "resident":
        demo = session.scalar(select(Resident.demo).where(Resident.openid == value))
        if demo is None and not FRESH.match(value):
            raise SimError(SIM_BAD_IDENTITY)
        if demo is False:
            raise SimError(SIM_REAL_PERSON)
        return Identity("resident", value, CHANNEL, "wechat")
    number = int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
    member = session.get(Staff, number) if number is not None else None
    if member is None:
        raise SimError(SIM_BAD_IDENTITY)
    if not member.demo:
        raise SimError(SIM_REAL_PERSON)
    if member.channel == "wecom":
        return Identity("staff", member.user_id, "wecom", "wecom_app")
    return Identity("staff", member.user_id, "wechat", "wechat")  # staff on the Official Account


def people(session: Session) -> dict[str, list[dict[str, str]]]:
    """The demo residents (a few with homes, and those made up here) and the demo staff."""
    made_up = session.scalars(select(Resident).where(Resident.openid.like("sim-%"),
                                                     Resident.demo.is_(True))
                              .order_by(Resident.id.desc()).limit(RESIDENTS_LISTED)).all()
    housed = _one_per_building(session)
    staff = session.scalars(select(Staff).where(Staff.demo.is_(True))
                            .order_by(Staff.role, Staff.id)).all()
    return {
        "residents": [{"id": f"resident:{r.openid}", "home": _home(r), "role": r.role or ""}
                      for r in [*housed, *made_up]],
        "staff": [{"id": f"staff:{m.id}", "name": m.name, "role": m.role, "channel": m.channel}
                  for m in staff],
    }


def _one_per_building(session: Session) -> list[Resident]:
    """A few residents with homes, the first of each building, in building order."""
    firsts = (select(func.min(Resident.id)).join(Home, Resident.home_id == Home.id)
              .join(Unit, Home.unit_id == Unit.id)
              .where(Resident.openid.not_like("sim-%"), Resident.demo.is_(True))
              .group_by(Unit.building_id))
    residents = session.scalars(select(Resident).where(Resident.id.in_(firsts)).options(
        joinedload(Resident.home).joinedload(Home.unit).joinedload(Unit.building))).all()
    residents = sorted(residents, key=lambda r: (len(_building(r)), _building(r)))
    return residents[:RESIDENTS_LISTED]


def _building(resident: Resident) -> str:
    return resident.home.unit.building.number if resident.home else ""


def _home(resident: Resident) -> str:
    home = resident.home
    if home is None:
        return ""
    return f"{home.unit.building.number}栋{home.unit.number}单元{home.room}"


def _checked_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise SimError(SIM_EMPTY)
    if "\x00" in text:
        raise SimError(SIM_UNSTORABLE)
    try:
        text.encode("utf-8")  # a lone surrogate (a \ud800 escape in JSON) cannot be stored
    except UnicodeEncodeError:
        raise SimError(SIM_UNSTORABLE) from None
    return text


def to_inbound(identity: Identity, body: dict[str, Any]) -> Inbound:
    """Map the browser's JSON (`text` or `event`, and the message's `id`) to an Inbound."""
    client_id = body.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise SimError(SIM_BAD_REQUEST)
    # The key names the sender, so nobody can read another person's reply by reusing an id.
    key = f"sim:{identity.token}:{client_id}"
    if body.get("event") == "subscribe" and identity.kind == "resident":
        return Inbound(identity.channel, identity.user_id, "event", key, event="subscribe")
    if "event" in body:
        raise SimError(SIM_BAD_REQUEST)
    return Inbound(identity.channel, identity.user_id, "text", key, text=_checked_text(body.get("text")))


def say(services: Services, identity: Identity, inbound: Inbound) -> dict[str, Any]:
    """Hand the message to the real dialogue, once however often it is posted; return it answered."""
    reply = receive(services, inbound, _as_made_up if identity.kind == "resident" else dialogue.respond)
    with services.sessions() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == inbound.key))
        # no row: refused before it was stored (too long), or kept in the spool for later
        view = _message(services, row) if row is not None else {
            "id": None, "at": _at(services, services.clock()), "text": inbound.text}
    view["reply"] = reply or None
    view["pushed"] = not reply  # too slow (or still in hand): the answer arrives as a push
    return view


def _as_made_up(services: Services, session: Session, inbound: Inbound) -> str:
    """The dialogue, with a resident new in the browser marked as made up first (same transaction)."""
    resident = resident_for(session, inbound.sender, services.clock())
    if FRESH.match(inbound.sender):
        resident.demo = True  # new here (`identify` refused a real one): a "sim-" openid is made up
    return dialogue.respond(services, session, inbound)


def transcript(services: Services, identity: Identity, after_in: int | None,
               after_out: int | None) -> dict[str, Any]:
    """What this person said and was answered, what reached them, and what the groups saw.

    With no cursor, the latest rows; with one, the rows after it. A message still being
    handled stops the cursor, so its answer is not skipped.
    """
    with services.sessions() as session:
        messages, in_cursor = _messages(services, session, identity, after_in)
        outgoing, out_cursor = _outgoing(services, session, identity, after_out)
    return {"messages": messages, "outbox": outgoing,
            "cursor": {"in": in_cursor if in_cursor is not None else after_in or 0,
                       "out": out_cursor if out_cursor is not None else after_out or 0}}


def _inbound_channels(identity: Identity) -> tuple[str, ...]:
    if identity.channel == "wecom":
        return ("wecom", "wecom_bot")
    return (CHANNEL, "wechat")


def _messages(services: Services, session: Session, identity: Identity,
              after: int | None) -> tuple[list[dict[str, Any]], int | None]:
    query = select(InboundMessage).where(InboundMessage.sender == identity.user_id,
                                         InboundMessage.channel.in_(_inbound_channels(identity)))
    if after is None:
        rows = list(reversed(session.scalars(query.order_by(InboundMessage.id.desc())
                                             .limit(TAIL)).all()))
    else:
        rows = list(session.scalars(query.where(InboundMessage.id > after)
                                    .order_by(InboundMessage.id).limit(PAGE)))
    shown, cursor = [], None
    fresh = services.clock() - STALE
    for row in rows:
        if row.status == "processing" and row.received_at > fresh:
            break  # its answer is not written yet: ask again from here
        shown.append(_message(services, row))
        cursor = row.id
    return shown, cursor


def _message(services: Services, row: InboundMessage) -> dict[str, Any]:
    passive = row.reply if row.reply_via == "passive" and row.reply else None
    return {"id": row.id, "at": _at(services, row.received_at), "kind": row.msg_type,
            "text": row.content, "reply": passive, "pushed": row.reply_via == "push"}


def _outgoing(services: Services, session: Session, identity: Identity,
              after: int | None) -> tuple[list[dict[str, Any]], int | None]:
    mine = and_(OutboxMessage.channel == identity.inbox, OutboxMessage.recipient == identity.user_id)
    query = select(OutboxMessage).where(or_(mine, OutboxMessage.channel.in_(GROUP_CHANNELS)))
    if after is None:
        rows = list(reversed(session.scalars(query.order_by(OutboxMessage.id.desc())
                                             .limit(TAIL)).all()))
    else:
        rows = list(session.scalars(query.where(OutboxMessage.id > after)
                                    .order_by(OutboxMessage.id).limit(PAGE)))
    return [_pushed(services, row) for row in rows], (rows[-1].id if rows else None)


def _pushed(services: Services, row: OutboxMessage) -> dict[str, Any]:
    group = row.channel in GROUP_CHANNELS
    # a response_url carries a one-off key: name the robot, never the address
    to = row.recipient if row.channel == "wecom_group" else ("robot" if group else "me")
    return {"id": row.id, "at": _at(services, row.created_at), "pane": "group" if group else "push",
            "to": to, "text": row.body, "markdown": row.kind == "markdown", "status": row.status}


def _at(services: Services, moment: datetime | None) -> str:
    return services.local(moment).strftime("%m-%d %H:%M") if moment else ""


def parse_cursor(value: str | None) -> int | None:
    """Read a cursor from the query string: absent is None, anything but a small number refused."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        raise SimError(SIM_BAD_REQUEST)
    return int(value)

