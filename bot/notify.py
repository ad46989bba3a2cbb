"""Who hears about a ticket, and what they read: cards for staff, updates for residents.

Everything here only queues messages in the outbox, inside the caller's transaction.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session, object_session

from bot import outbox, photos
from bot.replies.staff import (ACTION_NAMES, ACTORS, CARD, CARD_PHOTO, ESCALATED_CARD, HISTORY_LINE,
                               STAFF_ALSO_REPORTED, STAFF_PLACE_GIVEN, URGENT_MARK)
from bot.services import Services
from models import Estate, Follower, Resident, Staff, Ticket, TicketEvent
from models.categories import SUGGESTION
from models.categories import category_name as name_of_category
from models.db import Prepared
from models.estates import only_estate
from models.privacy import hide_rooms, mask_phones
from models.staff import LEVEL_NAMES, covering_levels

HISTORY_LIMIT = 10
# WeCom's markdown (cards, group chats, the smart robot's answers) reads these as markup:
# bold, headers, links and images (`](`), code, quotes, <@mentions> and <font> tags. In a
# resident's words they become their full-width twins, which read the same and mean nothing.
# Square brackets stay (our own masks, [电话已隐去], use them): without `(` no link is made.
MARKUP = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "#": "＃", "(": "（", ")": "）", "<": "＜",
                        ">": "＞", "@": "＠", "~": "～", "|": "｜", "\\": "＼", "!": "！", "&": "＆"})
LINE_BREAKS = re.compile(r"\r\n?|[\n\v\f\x1c-\x1e\x85\u2028\u2029]")
SPACES = re.compile(r"\s+")
PHOTO_URL = re.compile(r"^https?://[^\s()<>\[\]\\\"'`*]+$")


def words(text: str) -> str:
    """A resident's words, safe inside staff markdown: no markup, no links, no mentions."""
    return LINE_BREAKS.sub("\n", text.translate(MARKUP)).replace("://", "：//")


def inline(text: str) -> str:
    """A resident's words on one line (a place, a note): line breaks become spaces."""
    return SPACES.sub(" ", words(text)).strip()


def quoted(text: str) -> str:
    """A resident's words as a markdown quote on lines of their own, under what precedes them."""
    return "".join(f"\n> {line}" for line in words(text).split("\n"))


def photo_link(url: str | None) -> str | None:
    """A photo's address when it is a plain http(s) URL that cannot break out of a link."""
    return url if url and PHOTO_URL.match(url) else None


def photo_markdown(services: Services, photo_id: int, label: str = "查看照片") -> str:
    """A markdown link to the kept photo, signed and expiring; a dash without
    `[server] public_url` (no address to link to)."""
    link = photo_link(photos.staff_link(services, photo_id))
    return f"[{label}]({link})" if link else "—"


def category_name(ticket: Ticket) -> str:
    """Say the ticket's category in Chinese."""
    if ticket.kind == "suggestion":
        return SUGGESTION.name
    return name_of_category(ticket.category)


def card(services: Services, ticket: Ticket) -> str:
    """The ticket card staff see: number, category, place, urgency, words, photos, times."""
    links = " ".join(photo_markdown(services, p.id, str(i)) for i, p in enumerate(ticket.photos, 1)) \
        if services.config.server.public_url else (f"{len(ticket.photos)} 张" if ticket.photos else "")
    # the resident's words stay inside the card's quote, the place on its one line
    return CARD.format(
        number=ticket.id, urgent=URGENT_MARK if ticket.urgent else "",
        category=category_name(ticket), place=estate_prefix(ticket) + (inline(ticket.place or "") or "—"),
        text=words(ticket.text).replace("\n", "\n> "),
        photos=CARD_PHOTO.format(links=links) if links else "",
        created=_when(services, ticket.created_at),
        due=_when(services, ticket.response_due_at) if ticket.response_due_at else "—")


def estate_prefix(ticket: Ticket) -> str:
    """"翠竹苑 " before a ticket's place when the deployment has several estates, else nothing."""
    session = object_session(ticket)
    if session is None or ticket.estate_id is None or only_estate(session) is not None:
        return ""
    estate = session.get(Estate, ticket.estate_id)
    return f"{inline(estate.name)} " if estate is not None else ""


def new_ticket(services: Services, session: Session, ticket: Ticket, now: datetime) -> None:
    """Route a new ticket: its grid worker, the property team, and for urgent ones the group."""
    text = card(services, ticket)
    grid, firm = levels_staff(session, ticket, ("grid", "property"))
    to_each(session, grid + firm, text, key=f"ticket:{ticket.id}:new", now=now, ticket=ticket)
    if ticket.urgent:
        to_group(services, session, "property", text, key=f"ticket:{ticket.id}:new:group:property",
                 now=now, ticket=ticket)


_EVENT_COUNT = Prepared(select(func.count()).select_from(TicketEvent)
                        .where(TicketEvent.ticket_id == bindparam("ticket")))


def event_count(session: Session, ticket: Ticket) -> int:
    """How many events the ticket's log holds, those not yet written included.

    Counted by the database unless the session has the log loaded: an emergency that many
    residents report has a long log, and loading all of it for its length, on every report,
    made each one cost more than the last."""
    if "events" in inspect(ticket).dict:
        return len(ticket.events)
    return _EVENT_COUNT.first(session, {"ticket": ticket.id})[0] or 0  # the flush writes the new ones


def told(session: Session, ticket: Ticket) -> list[Staff]:
    """The staff who know of the ticket: its handler, those its card went to, and its level's."""
    people = [ticket.assignee] if ticket.assignee else []
    for staff in levels_staff(session, ticket, ("grid", "property")):
        people += staff
    if ticket.level not in ("grid", "property"):
        people += level_staff(session, ticket, ticket.level)
    return list(dict.fromkeys(people))


def also_reported(services: Services, session: Session, ticket: Ticket, text: str, *,
                  now: datetime) -> None:
    """Tell everyone who knows of an emergency that another resident reported it too."""
    body = STAFF_ALSO_REPORTED.format(number=ticket.id, urgent=URGENT_MARK if ticket.urgent else "",
                                      text=text)
    stage = f"also:{event_count(session, ticket)}"
    to_each(session, told(session, ticket), body, key=f"ticket:{ticket.id}:{stage}", now=now,
            ticket=ticket)
    if ticket.urgent:
        to_group(services, session, "property", body, key=f"ticket:{ticket.id}:{stage}:group:property",
                 now=now, ticket=ticket)


def place_given(services: Services, session: Session, ticket: Ticket, text: str, *, event: str,
                now: datetime) -> None:
    """Pass what a resident adds to an urgent ticket opened without a place (its place, mostly).

    Staff who cover the place now named get the whole card, the others the words."""
    new_ticket(services, session, ticket, now)  # once per person: only those not told yet get it
    body = STAFF_PLACE_GIVEN.format(number=ticket.id, text=text)
    to_each(session, told(session, ticket), body, key=f"ticket:{ticket.id}:{event}", now=now,
            ticket=ticket)
    if ticket.urgent:
        to_group(services, session, "property", body, key=f"ticket:{ticket.id}:{event}:group:property",
                 now=now, ticket=ticket)


def level_staff(session: Session, ticket: Ticket, level: str) -> list[Staff]:
    """The staff of one level who answer for the ticket's place (and category, for property)."""
    return levels_staff(session, ticket, (level,))[0]


def levels_staff(session: Session, ticket: Ticket, levels: tuple[str, ...]) -> list[list[Staff]]:
    """`level_staff` of one level or two, asked together (models.staff.covering_levels)."""
    estate = session.get(Estate, ticket.estate_id) if ticket.estate_id is not None else None
    found = covering_levels(session, levels, ticket.building, ticket.unit, ticket.room, estate)
    return [[p for p in found[level] if level != "property" or p.handles(ticket.category)]
            for level in levels]


def escalated(services: Services, session: Session, ticket: Ticket, reason: str,
              now: datetime) -> None:
    """Tell the ticket's new level, once: its people and its group chat, with the history."""
    level = LEVEL_NAMES[ticket.level]
    text = ESCALATED_CARD.format(number=ticket.id, level=level, reason=reason or "—",
                                         card=card(services, ticket),
                                         history=history(services, session, ticket))
    tell_level(services, session, ticket, text,
               stage=f"level:{ticket.level}:{event_count(session, ticket)}", now=now)


def tell_level(services: Services, session: Session, ticket: Ticket, text: str, *, stage: str,
               now: datetime) -> None:
    """Queue a message to the people of the ticket's level and to that level's group chat."""
    key = f"ticket:{ticket.id}:{stage}"
    to_each(session, level_staff(session, ticket, ticket.level), text, key=key, now=now, ticket=ticket)
    to_group(services, session, ticket.level, text, key=f"{key}:group", now=now, ticket=ticket)


def history(services: Services, session: Session, ticket: Ticket) -> str:
    """The ticket's latest events, one line each."""
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                             .order_by(TicketEvent.id.desc()).limit(HISTORY_LIMIT)).all()
    return "\n".join(HISTORY_LINE.format(
        when=_when(services, e.at), who=_actor(e.actor),
        what=_action(e.action) + (f"（{inline(e.note)}）" if e.note else "")) for e in reversed(events))


def _actor(actor: str) -> str:
    """居民 for residents, 系统 for the system, staff by their level and name."""
    return ACTORS.get(actor.split(":", 1)[0], actor)


def _action(action: str) -> str:
    """An event's action in Chinese: 接单, 升级到物业, ..."""
    if action.startswith("escalated:"):
        return "升级到" + LEVEL_NAMES.get(action.split(":", 1)[1], "")
    return ACTION_NAMES.get(action, action)


def to_followers(session: Session, ticket: Ticket, text: str, *, event: str,
                 now: datetime) -> None:
    """Queue an update for everyone who follows the ticket (reporter included).

    Others who follow it ("me too", merged) read the place without the reporter's room.
    """
    for resident in followers(session, ticket):
        body = text if resident.id == ticket.reporter_id else hide_rooms(text, [ticket.room or ""])
        to_follower(session, ticket, resident, body, event=event, now=now)


def to_follower(session: Session, ticket: Ticket, resident: Resident, text: str, *, event: str,
                now: datetime) -> None:
    """Queue an update about the ticket for one of its followers."""
    outbox.enqueue(session, key=f"ticket:{ticket.id}:{event}:resident:{resident.id}",
                   channel="wechat", recipient=resident.openid, body=text, now=now,
                   kind="ticket_update", ticket_id=ticket.id)


def followers(session: Session, ticket: Ticket) -> list[Resident]:
    """The residents who follow the ticket."""
    return list(session.scalars(select(Resident).join(Follower, Follower.resident_id == Resident.id)
                                .where(Follower.ticket_id == ticket.id).order_by(Follower.id)))


def to_handlers(session: Session, ticket: Ticket, text: str, *, event: str, now: datetime) -> None:
    """Queue a message to whoever handles the ticket: its assignee, else its level's staff."""
    people: list[Staff] = [ticket.assignee] if ticket.assignee else \
        level_staff(session, ticket, ticket.level)
    to_each(session, people, text, key=f"ticket:{ticket.id}:{event}", now=now, ticket=ticket)


def to_staff(session: Session, member: Staff, text: str, *, key: str, now: datetime,
             ticket: Ticket | None = None) -> None:
    """Queue a message to one staff member on their channel."""
    outbox.enqueue_all(session, [_for_staff(member, text, key, ticket)], now)


def to_each(session: Session, members: list[Staff], text: str, *, key: str, now: datetime,
            ticket: Ticket | None = None) -> None:
    """Queue the same message to several staff members, in one statement; each one's key is
    `key` followed by `:staff:` and their id."""
    outbox.enqueue_all(session, [_for_staff(member, text, f"{key}:staff:{member.id}", ticket)
                                 for member in dict.fromkeys(members)], now)


def _for_staff(member: Staff, text: str, key: str, ticket: Ticket | None) -> outbox.Message:
    channel = "wecom_app" if member.channel == "wecom" else "wechat"
    return outbox.Message(key, channel, member.user_id, text,
                          "markdown" if channel == "wecom_app" else "ticket_update",
                          ticket.id if ticket else None)


def to_group(services: Services, session: Session, group: str, text: str, *, key: str,
             now: datetime, ticket: Ticket | None = None) -> None:
    """Queue a message to a staff group chat, when that group has a robot configured.

    A group is wider than the staff who handle a ticket: phone numbers go half hidden.
    """
    if group not in services.config.wecom.group_webhooks:
        return
    outbox.enqueue(session, key=key, channel="wecom_group", recipient=group, body=mask_phones(text),
                   now=now, kind="markdown", ticket_id=ticket.id if ticket else None)


def _when(services: Services, moment: datetime) -> str:
    return services.local(moment).strftime("%m-%d %H:%M")
