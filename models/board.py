"""The public board (清单化公示) and Open311: what each ticket shows the public, and the queries.

Every list is read newest first by (created_at, id) and paged by keyset: a page
continues from one ticket's place in that order, so page 1,000 costs what page 1
costs. Each filter is a range of one index (see `Ticket.__table_args__`).
Nothing personal leaves here: the place is cut to the building, and a resident's
words only appear once staff published them, scrubbed of phones and room numbers.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from models.categories import SUGGESTION as SUGGESTIONS
from models.estate import Building, Owner
from models.staff import Staff
from models.tickets import OPEN_STATES, STATE_NAMES, Ticket, TicketPhoto, record

SUGGESTION = SUGGESTIONS.code  # the category code the board gives suggestions (they have none)
DONE_STATES = ("resolved", "closed")
ENDED_STATES = ("rejected", "merged", "withdrawn")
OVERDUE = "overdue"  # a pseudo-state: open and past its deadline
ACTIVE = "active"  # a pseudo-state for staff (the console's queue, its exports): not yet done
# On the board resolved tickets wait for the resident's rating: no "您" on a public page.
BOARD_STATE_NAMES = STATE_NAMES | {"resolved": "已处理，待评价"}
OVERDUE_NAME = "已超时"
# what stands in for personal details in published words
SCRUB_MASKS = {"phone": "[电话已隐去]", "room": "[房号已隐去]", "email": "[邮箱已隐去]",
               "name": "[姓名已隐去]"}

# ---- scrubbing: phones, rooms and e-mail addresses out of published words ----
_CN_DIGIT = "零〇一二两三四五六七八九十百千幺"
_BUILDING = rf"(?:\d{{1,3}}|[{_CN_DIGIT}]{{1,4}})\s*(?:栋|幢|号楼|座)"
_UNIT = rf"(?:\d{{1,3}}|[{_CN_DIGIT}]{{1,3}})\s*单元"
_DIGITS = r"\+?\d(?:[\s\-－—.·()（）]*\d){2,}"  # three digits or more, however separated
_CN_NUMBER = rf"[{_CN_DIGIT}](?:[\s\-－—]*[{_CN_DIGIT}]){{2,}}"
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
_SCRUB = re.compile(rf"(?P<email>{_EMAIL})|(?P<building>{_BUILDING})|(?P<unit>{_UNIT})"
                    rf"|(?P<digits>{_DIGITS})|(?P<cn>{_CN_NUMBER})")
_PHONE = re.compile(r"^(?:\+?86)?(?:1[3-9]\d{9}|0\d{9,11}|\d{7,8})$")


def scrub(text: str, masks: Mapping[str, str], names: Iterable[str] = ()) -> str:
    """Hide names given, e-mails, phone numbers, units and room numbers (any run of three digits).

    A building ("3栋") is public and stays; a unit or a room locates a household, so it
    goes, in Arabic or Chinese numerals, however it is spaced or dashed. `masks` gives
    what stands in for each: keys phone, room, email, name.
    """
    for name in sorted(set(names), key=len, reverse=True):
        text = text.replace(name, masks["name"])

    def hide(match: re.Match[str]) -> str:
        if match.group("email"):
            return masks["email"]
        if match.group("building"):
            return match.group()
        if match.group("unit"):
            return masks["room"]
        digits = "".join(str(unicodedata.digit(c)) for c in match.group() if c.isdigit())
        return masks["phone"] if match.group("digits") and _PHONE.match(digits) else masks["room"]

    return _SCRUB.sub(hide, text)


def registered_names(session: Session, text: str) -> list[str]:
    """The owners' and staff's registered names (two characters or more) that the text mentions."""
    mentioned = []
    for column in (Owner.name, Staff.name):
        mentioned += session.scalars(select(column).distinct().where(
            func.length(column) >= 2, literal(text).contains(column, autoescape=False)))
    return mentioned


# ---- filters and pages --------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What the reader asked for; every field already checked."""

    state: str | None = None  # a state, or OVERDUE
    category: str | None = None  # a category, or SUGGESTION
    building: str | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    estates: tuple[int, ...] | None = None  # an estate, a community's or a street's (None: all)
    unplaced: bool = False  # with estates: tickets of no estate too (they count as the first's)
    buildings: tuple[str, ...] | None = None  # any of these buildings (a grid worker's)


@dataclass(frozen=True)
class Entry:
    """One ticket as the public may see it."""

    id: int
    kind: str
    category: str
    building: str | None
    place: str | None
    state: str
    level: str
    urgent: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    rating: int | None
    merged_into: int | None
    overdue: bool
    due_at: datetime | None  # the deadline the ticket runs against now
    resolve_due_at: datetime | None
    words: str | None  # the resident's words as published (scrubbed), or None

    def days_open(self, now: datetime) -> int:
        """Whole days from opening to the fix, the end, or now."""
        end = self.resolved_at or (self.updated_at if self.state in ENDED_STATES else now)
        return max(0, (end - self.created_at).days)


@dataclass(frozen=True)
class Page:
    """One page of the board, with whether older and newer tickets lie beyond it."""

    entries: list[Entry]
    older: bool
    newer: bool


_COLUMNS = (Ticket.id, Ticket.kind, Ticket.category, Ticket.building, Ticket.place, Ticket.state,
            Ticket.level, Ticket.urgent, Ticket.created_at, Ticket.updated_at, Ticket.resolved_at,
            Ticket.rating, Ticket.merged_into_id, Ticket.assignee_id, Ticket.response_due_at,
            Ticket.resolve_due_at,
            Ticket.public_text)


def _due(assignee_id: int | None, response_due: datetime | None,
         resolve_due: datetime | None) -> datetime | None:
    return response_due if assignee_id is None else resolve_due


def _entry(row: Any, now: datetime) -> Entry:
    due = _due(row.assignee_id, row.response_due_at, row.resolve_due_at)
    return Entry(
        id=row.id, kind=row.kind,
        category=SUGGESTION if row.kind == "suggestion" else (row.category or "other"),
        building=row.building, place=row.place, state=row.state, level=row.level,
        urgent=bool(row.urgent), created_at=row.created_at, updated_at=row.updated_at,
        resolved_at=row.resolved_at, rating=row.rating, merged_into=row.merged_into_id,
        overdue=row.state in OPEN_STATES and due is not None and due < now, due_at=due,
        resolve_due_at=row.resolve_due_at, words=row.public_text)


def _filtered(query: Select[Any], filters: Filters, now: datetime) -> Select[Any]:
    if filters.state == OVERDUE:
        query = query.where(Ticket.state.in_(OPEN_STATES), or_(
            and_(Ticket.assignee_id.is_(None), Ticket.response_due_at < now),
            and_(Ticket.assignee_id.is_not(None), Ticket.resolve_due_at < now)))
    elif filters.state == ACTIVE:
        query = query.where(Ticket.state.in_(OPEN_STATES))
    elif filters.state:
        query = query.where(Ticket.state == filters.state)
    if filters.category == SUGGESTION:  # only suggestions lack a category (problems have "other")
        query = query.where(Ticket.category.is_(None))
    elif filters.category:
        query = query.where(Ticket.category == filters.category)
    if filters.building:
        query = query.where(Ticket.building == filters.building)
    if filters.since:
        query = query.where(Ticket.created_at >= filters.since)
    if filters.until:
        query = query.where(Ticket.created_at < filters.until)
    if filters.estates is not None:
        placed = Ticket.estate_id.in_(filters.estates)
        query = query.where(or_(placed, Ticket.estate_id.is_(None)) if filters.unplaced else placed)
    if filters.buildings is not None:
        query = query.where(Ticket.building.in_(filters.buildings))
    return query


def position(session: Session, ticket_id: int) -> tuple[datetime, int] | None:
    """Return a ticket's place in the board's order, or None when there is no such ticket."""
    row = session.execute(select(Ticket.created_at, Ticket.id).where(Ticket.id == ticket_id)).first()
    return None if row is None else (row.created_at, row.id)


def page(session: Session, filters: Filters, *, now: datetime, size: int,
         after: tuple[datetime, int] | None = None,
         before: tuple[datetime, int] | None = None) -> Page:
    """Read one page, newest first: the first, the one older than `after`, or newer than `before`."""
    key = tuple_(Ticket.created_at, Ticket.id)

    def at(place: tuple[datetime, int]) -> Any:
        return tuple_(literal(place[0], Ticket.created_at.type), literal(place[1]))

    query = _filtered(select(*_COLUMNS), filters, now)
    if before is not None:
        query = query.where(key > at(before)).order_by(Ticket.created_at, Ticket.id)
    else:
        if after is not None:
            query = query.where(key < at(after))
        query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    rows = session.execute(query.limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    if before is not None:  # older ones exist when something of these filters precedes the page
        rows.reverse()
        oldest = (rows[-1].created_at, rows[-1].id) if rows else before
        older = session.execute(_filtered(select(Ticket.id), filters, now)
                                .where(key < at(oldest)).limit(1)).first() is not None
        return Page([_entry(r, now) for r in rows], older=older, newer=more)
    return Page([_entry(r, now) for r in rows], older=more, newer=after is not None)


def entries(session: Session, ids: Sequence[int], now: datetime) -> list[Entry]:
    """Read the tickets with these numbers, newest first (missing ones are left out)."""
    if not ids:
        return []
    rows = session.execute(select(*_COLUMNS).where(Ticket.id.in_(list(ids)))
                           .order_by(Ticket.created_at.desc(), Ticket.id.desc())).all()
    return [_entry(r, now) for r in rows]


def listing(session: Session, *, categories: Sequence[str], states: Sequence[str],
            since: datetime, until: datetime, now: datetime, limit: int) -> list[Entry]:
    """Tickets opened in [since, until), of any of the categories and states given, newest first."""
    query = select(*_COLUMNS).where(Ticket.created_at >= since, Ticket.created_at < until)
    plain = [c for c in categories if c != SUGGESTION]
    if categories:
        query = query.where(or_(Ticket.category.in_(plain), Ticket.category.is_(None))
                            if SUGGESTION in categories else Ticket.category.in_(plain))
    if states:
        query = query.where(Ticket.state.in_(states))
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return [_entry(r, now) for r in session.execute(query)]


def estates_of(session: Session, ids: Sequence[int]) -> dict[int, int | None]:
    """Ticket number -> its estate, for the tickets of one page."""
    return dict(session.execute(select(Ticket.id, Ticket.estate_id)  # type: ignore[arg-type]
                                .where(Ticket.id.in_(list(ids)))).all()) if ids else {}


def published_photos(session: Session, entries_shown: Sequence[Entry]) -> dict[int, list[int]]:
    """The kept photos of the published tickets among these, by ticket, in the order sent.

    Only a ticket staff published (公示) shows photos, and only their copies re-encoded
    without metadata (`public_key`); unpublished tickets cost no query.
    """
    published = [e.id for e in entries_shown if e.words is not None]
    if not published:
        return {}
    found: dict[int, list[int]] = {}
    rows = session.execute(select(TicketPhoto.ticket_id, TicketPhoto.id).join(
        Ticket, Ticket.id == TicketPhoto.ticket_id).where(
        TicketPhoto.ticket_id.in_(published), TicketPhoto.public_key.is_not(None),
        Ticket.public_text.is_not(None)).order_by(TicketPhoto.id))
    for ticket_id, photo_id in rows:
        found.setdefault(ticket_id, []).append(photo_id)
    return found


def first_opened(session: Session) -> datetime | None:
    """When the oldest ticket was opened (one step down an index)."""
    return session.scalar(select(func.min(Ticket.created_at)))


def buildings(session: Session, estates: Sequence[int] | None = None) -> list[str]:
    """The estates' building numbers (every estate's, unless some are named), in numeric order."""
    query = select(Building.number)
    if estates is not None:
        query = query.where(Building.estate_id.in_(estates))
    numbers = set(session.scalars(query))
    return sorted(numbers, key=lambda n: (len(n), n))


def set_published(session: Session, ticket: Ticket, published: bool, masks: Mapping[str, str], *,
                  actor: str, now: datetime) -> bool:
    """Publish the resident's words, scrubbed, on the board (or withdraw them); False if no change."""
    if (ticket.public_text is not None) == published:
        return False
    ticket.public_text = scrub(ticket.text, masks, registered_names(session, ticket.text)) \
        if published else None
    record(session, ticket, actor=actor, action="published" if published else "unpublished",
           now=now)
    return True
