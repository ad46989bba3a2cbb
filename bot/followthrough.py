"""Following every ticket to the end: deadlines and the five-level climb, the look back
(回头看) after a fix, and the morning digest. Jobs call these with the app's services."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from bot import notify
from bot.replies.staff import (DIGEST_HEAD, DIGEST_LINE, DIGEST_OVERDUE_HEAD, OVERDUE_RESOLVE,
                               OVERDUE_RESPONSE, STAFF_WARNING, STREET_REMINDER)
from bot.replies.tickets import LOOK_BACK, RESIDENT_CLIMBED
from bot.services import Services
from models import Ticket, record, transaction
from models.sla import deadlines, duration_rough, longest_resolve, restart_clock
from models.staff import LEVELS, LEVEL_NAMES
from models.tickets import IS_OPEN, OPEN_STATES

WARN_SHARE = 5  # warn the handler when a fifth of the time to fix is left
REMIND_EVERY = timedelta(days=1)
SYSTEM = "system"


def sla_sweep(services: Services) -> str:
    """Warn, climb or remind for every open ticket whose time has come."""
    now, moved = services.clock(), 0
    with transaction(services.sessions) as session:
        due = session.scalars(select(Ticket).where(
            IS_OPEN,
            or_(Ticket.response_due_at <= now, Ticket.resolve_due_at <= now + _longest_warning(services)))
            .order_by(Ticket.id).with_for_update(skip_locked=True)).all()  # a second sweep skips them
        for ticket in due:
            moved += _step(services, session, ticket, now)
    return f"{moved} ticket(s) warned, escalated or reminded"


def _longest_warning(services: Services) -> timedelta:
    """How early the earliest warning can come, over every category the config or defaults name."""
    return timedelta(seconds=longest_resolve(services.config.sla) / WARN_SHARE)


def _step(services: Services, session, ticket: Ticket, now: datetime) -> int:  # type: ignore[no-untyped-def]
    limits = deadlines(services.config.sla, ticket.category, ticket.urgent)
    if ticket.assignee_id is None and ticket.response_due_at and ticket.response_due_at <= now:
        return _climb(services, session, ticket, now, OVERDUE_RESPONSE)
    if ticket.assignee_id is not None and ticket.resolve_due_at:
        if ticket.resolve_due_at <= now:
            return _climb(services, session, ticket, now, OVERDUE_RESOLVE)
        warn_from = ticket.resolve_due_at - timedelta(seconds=limits.resolve / WARN_SHARE)
        if ticket.warned_at is None and warn_from <= now:
            _warn(services, session, ticket, now)
            return 1
    return 0


def _warn(services: Services, session, ticket: Ticket, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Tell the handler the fix is due soon: once per deadline."""
    ticket.warned_at = now
    event = record(session, ticket, actor=SYSTEM, action="warned", now=now)
    session.flush()
    notify.to_staff(session, ticket.assignee, STAFF_WARNING.format(
        number=ticket.id, category=notify.category_name(ticket),
        place=notify.inline(ticket.place or "") or "—",
        due=services.local(ticket.resolve_due_at).strftime("%m-%d %H:%M")),
        key=f"ticket:{ticket.id}:warned:{event.id}", now=now, ticket=ticket)


def _climb(services: Services, session, ticket: Ticket, now: datetime,  # type: ignore[no-untyped-def]
           reason: str) -> int:
    """Hand an overdue ticket one level up with a fresh deadline; at street, remind daily."""
    if ticket.level == LEVELS[-1]:
        if ticket.reminded_at is not None and now - ticket.reminded_at < REMIND_EVERY:
            return 0
        ticket.reminded_at = now
        event = record(session, ticket, actor=SYSTEM, action="reminded", now=now, note=reason)
        session.flush()
        text = STREET_REMINDER.format(number=ticket.id, card=notify.card(services, ticket))
        notify.tell_level(services, session, ticket, text, stage=f"reminded:{event.id}", now=now)
        return 1
    ticket.level = LEVELS[LEVELS.index(ticket.level) + 1]
    restart_clock(services.config.sla, ticket, now)
    record(session, ticket, actor=SYSTEM, action=f"escalated:{ticket.level}", now=now, note=reason)
    session.flush()
    notify.escalated(services, session, ticket, reason, now)
    notify.to_followers(session, ticket, RESIDENT_CLIMBED.format(
        number=ticket.id, reason=reason, level=LEVEL_NAMES[ticket.level]),
        event=f"climbed:{ticket.level}", now=now)
    return 1


def look_back(services: Services) -> str:
    """Ask the followers of tickets fixed a while ago whether they stayed fixed."""
    now = services.clock()
    after = timedelta(seconds=services.config.followup.look_back)
    with transaction(services.sessions) as session:
        tickets = session.scalars(select(Ticket).where(
            Ticket.state.in_(("resolved", "closed")), Ticket.looked_back_at.is_(None),
            Ticket.resolved_at <= now - after).order_by(Ticket.id)).all()
        for ticket in tickets:
            ticket.looked_back_at = now
            record(session, ticket, actor=SYSTEM, action="look_back", now=now)
            notify.to_followers(session, ticket, LOOK_BACK.format(
                number=ticket.id, category=notify.category_name(ticket), place=ticket.place or "—",
                days=max(1, (now - ticket.resolved_at).days)), event="look_back", now=now)
    return f"{len(tickets)} ticket(s) looked back on"


def daily_digest(services: Services) -> str:
    """Post the morning figures to each level's group chat, the oldest overdue first."""
    now = services.clock()
    today = services.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    groups = [g for g in services.config.wecom.group_webhooks if g in LEVELS]
    with transaction(services.sessions) as session:
        open_tickets = session.scalars(select(Ticket).where(Ticket.state.in_(OPEN_STATES))).all()
        overdue = sorted((t for t in open_tickets if _late(t, now)), key=lambda t: _late(t, now),
                         reverse=True)
        new = sum(1 for t in open_tickets if t.created_at >= now - timedelta(days=1))
        resolved = len(session.scalars(select(Ticket.id).where(
            Ticket.resolved_at >= today - timedelta(days=1), Ticket.resolved_at < today)).all())
        lines = [DIGEST_HEAD.format(date=services.local(now).strftime("%m月%d日"), new=new,
                                            open=len(open_tickets), overdue=len(overdue),
                                            resolved=resolved)]
        if overdue:
            lines.append(DIGEST_OVERDUE_HEAD)
            lines += [DIGEST_LINE.format(
                number=t.id, category=notify.category_name(t),
                place=notify.estate_prefix(t) + (notify.inline(t.place or "") or "—"),
                level=LEVEL_NAMES[t.level], late=duration_rough(_late(t, now)))
                for t in overdue[:10]]
        for group in groups:
            notify.to_group(services, session, group, "\n".join(lines),
                            key=f"digest:{services.local(now).date()}:{group}", now=now)
    return f"digest for {len(groups)} group(s): {len(open_tickets)} open, {len(overdue)} overdue"


def _late(ticket: Ticket, now: datetime) -> timedelta:
    """How long past its current deadline a ticket is (zero when on time)."""
    due = ticket.response_due_at if ticket.assignee_id is None else ticket.resolve_due_at
    return max(now - due, timedelta(0)) if due else timedelta(0)
