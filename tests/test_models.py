"""Domain rules that live with the models: transitions, the append-only log, ticket numbers."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask import Flask
from sqlalchemy import delete, select

from models import (Resident, Ticket, TicketEvent, TransitionError, record, transaction,
                    transition)
from models.sla import Deadlines, deadlines
from settings import Sla

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


def new_ticket(session, text: str = "3栋电梯坏了") -> Ticket:
    resident = session.scalar(select(Resident).where(Resident.openid == "oModel"))
    if resident is None:
        resident = Resident(openid="oModel", created_at=NOW)
        session.add(resident)
        session.flush()
    ticket = Ticket(kind="problem", category="elevator", reporter_id=resident.id, text=text,
                    state="open", level="grid", urgent=False, created_at=NOW, updated_at=NOW)
    session.add(ticket)
    record(session, ticket, actor="system", action="opened", now=NOW)
    session.flush()
    return ticket


def test_allowed_and_refused_transitions(app: Flask) -> None:
    with transaction(app.extensions["linli"].sessions) as session:
        ticket = new_ticket(session)
        transition(session, ticket, "claimed", actor="staff:zhang", now=NOW)
        transition(session, ticket, "resolved", actor="staff:zhang", now=NOW)
        assert ticket.resolved_at == NOW
        with pytest.raises(TransitionError):
            transition(session, ticket, "claimed", actor="staff:zhang", now=NOW)
        transition(session, ticket, "closed", actor="system", now=NOW)
        with pytest.raises(TransitionError):
            transition(session, ticket, "claimed", actor="system", now=NOW)
        assert [e.action for e in ticket.events] == ["opened", "claimed", "resolved", "closed"]


def test_event_log_is_append_only(app: Flask) -> None:
    sessions = app.extensions["linli"].sessions
    with transaction(sessions) as session:
        new_ticket(session)
    with pytest.raises(TransitionError), transaction(sessions) as session:
        event = session.scalars(select(TicketEvent)).first()
        event.note = "rewritten"
        session.flush()
    with pytest.raises(TransitionError), transaction(sessions) as session:
        session.delete(session.scalars(select(TicketEvent)).first())
        session.flush()
    with sessions() as session:
        assert session.scalars(select(TicketEvent)).one().note is None


def test_ticket_numbers_are_never_reused(app: Flask) -> None:
    sessions = app.extensions["linli"].sessions
    with transaction(sessions) as session:
        first, second = new_ticket(session).id, new_ticket(session).id
    assert second == first + 1
    with transaction(sessions) as session:  # even if the newest row vanished, #2 stays used
        session.execute(delete(TicketEvent).where(TicketEvent.ticket_id == second))
        session.execute(delete(Ticket).where(Ticket.id == second))
    with transaction(sessions) as session:
        third = new_ticket(session).id
    assert third == second + 1


def test_sla_deadlines_follow_urgency_and_category() -> None:
    sla = Sla.from_table({"urgent": {"response": "90s", "resolve": "2h"},
                          "normal": {"response": "24h", "resolve": "3d"},
                          "category": {"facilities": {"resolve": "7d"}}})
    assert deadlines(sla, "elevator", True) == Deadlines(90, 7200)
    assert deadlines(sla, "elevator", False) == Deadlines(86400, 259200)
    assert deadlines(sla, "facilities", False) == Deadlines(86400, 604800)
    assert deadlines(Sla.from_table({}), "parking", False).resolve == 7 * 86400


def test_an_event_logged_at_once_is_in_the_log_whether_or_not_the_session_holds_it(app: Flask) -> None:
    """`log` writes an event by one INSERT at once, unless the session holds the ticket's log
    loaded: then it goes through the log as `record` adds it, so what is loaded stays whole and
    the log's length (which numbers the messages about the ticket) is the same either way."""
    from bot.notify import event_count
    from models.tickets import log

    sessions = app.extensions["linli"].sessions
    with transaction(sessions) as session:
        number = new_ticket(session).id
    with transaction(sessions) as session:  # the log not loaded: written at once, nothing pending
        ticket = session.get(Ticket, number)
        log(session, ticket, actor="resident:1", action="me_too", now=NOW, note="也坏了")
        assert not session.new and "events" not in ticket.__dict__
        assert event_count(session, ticket) == 2
    with transaction(sessions) as session:  # the log loaded: it gets the event too
        ticket = session.get(Ticket, number)
        assert len(ticket.events) == 2
        log(session, ticket, actor="resident:2", action="me_too", now=NOW)
        assert [e.action for e in ticket.events] == ["opened", "me_too", "me_too"]
        assert event_count(session, ticket) == 3
    with sessions() as session:
        actions = session.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == number)
                                  .order_by(TicketEvent.id)).all()
    assert actions == ["opened", "me_too", "me_too"]


def test_a_prepared_statement_gives_what_sqlalchemy_gives(app: Flask) -> None:
    """`Prepared` runs a statement's SQL below SQLAlchemy's execution, converting what it gives
    and what comes back with the same type processors: the rows are SQLAlchemy's own (aware
    datetimes, booleans, numbers, NULLs, an unnamed column by position), a clash is SQLAlchemy's
    IntegrityError, and a statement whose SQL would change at execution is refused."""
    from sqlalchemy import Float, Integer, bindparam, event, insert, literal_column, update
    from sqlalchemy.exc import IntegrityError

    from models.db import Prepared, UTCDateTime

    table = Resident.__table__
    with transaction(app.extensions["linli"].sessions) as session:
        session.add_all([Resident(openid="oPrepared1", created_at=NOW, following=False, limit_tokens=2.5),
                         Resident(openid="oPrepared2", created_at=NOW, last_inbound_at=NOW)])
        session.flush()
        read = (select(table.c.id, table.c.openid, table.c.following, table.c.created_at,
                       table.c.last_inbound_at, table.c.limit_tokens,
                       literal_column("1 + 1", Integer()))
                .where(table.c.openid >= bindparam("from_openid"), table.c.verified == False)  # noqa: E712
                .order_by(table.c.openid))
        given = {"from_openid": "oPrepared"}
        rows = Prepared(read).execute(session.connection(), given)
        assert [tuple(row) for row in rows] == [tuple(row) for row in session.execute(read, given)]
        assert rows[0].following is False and rows[0].created_at == NOW and rows[0].created_at.tzinfo
        assert rows[0].limit_tokens == 2.5 and rows[1].last_inbound_at == NOW and rows[0][6] == 2

        stamp = Prepared(update(table).where(table.c.openid == bindparam("who"))
                         .values(last_inbound_at=bindparam("now", type_=UTCDateTime()),
                                 limit_tokens=bindparam("tokens", type_=Float()), pushes_since_inbound=0)
                         .returning(table.c.openid, table.c.last_inbound_at, table.c.pushes_since_inbound))
        later = NOW.replace(hour=9)
        assert tuple(stamp.first(session.connection(), {"who": "oPrepared1", "now": later, "tokens": None})) \
            == ("oPrepared1", later, 0)
        assert stamp.first(session.connection(), {"who": "oNobody", "now": later, "tokens": 1.0}) is None
        assert session.scalar(select(table.c.last_inbound_at).where(table.c.openid == "oPrepared1")) == later

        session.add(Resident(openid="oPrepared3", created_at=NOW))  # given the session, flushed first
        assert [row.openid for row in Prepared(read).execute(session, given)] == [
            "oPrepared1", "oPrepared2", "oPrepared3"]

        seen: list[str] = []  # the engine's listeners hear it, as they hear SQLAlchemy's statements
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", listen)
        try:
            assert stamp.first(session.connection(), {"who": "oPrepared2", "now": later, "tokens": 1.0})
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listen)
        assert len(seen) == 1 and seen[0].lstrip().upper().startswith("UPDATE RESIDENTS")

        with pytest.raises(ValueError):  # an IN of a list is written into the SQL at each execution
            Prepared(select(table.c.id).where(table.c.openid.in_(["a", "b"]))).execute(session.connection(), {})
        clash = Prepared(insert(table).values(openid=bindparam("who"), created_at=NOW))
        with pytest.raises(IntegrityError), session.begin_nested():
            clash.execute(session.connection(), {"who": "oPrepared2"})
