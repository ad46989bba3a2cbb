"""The queries made for scale give the plain rules' answers: 待办's narrowed query names exactly
the tickets the plain rule names, and PostgreSQL's count of an open vote is the Python tally.
(The scale benchmark's own smoke run is in bench/test_smoke.py, run by `make bench`.)"""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from flask import Flask

from bot import notify
from bot.handlers import staff as handlers
from bot.turn import StaffTurn
from models import Coverage, Estate, Resident, Staff, Ticket, transaction
from models import queue
from models.tickets import OPEN_STATES, TRANSITIONS

LEVELS = ("grid", "property", "estate", "community", "street")
CATEGORIES = ("elevator", "water", "sanitation", "lighting", None)


def _plain_queue(session, me: Staff) -> set[int]:
    """The rule as first written: every open ticket, asked of notify.level_staff one by one."""
    return {t.id for t in session.query(Ticket).where(Ticket.state.in_(OPEN_STATES))
            if t.assignee_id == me.id or (not queue.held_at_level(t)
                                          and me in notify.level_staff(session, t, t.level))}


def _street(session, rng: random.Random, now, estates: bool = False) -> None:
    """Staff with whole buildings, units, single homes or nothing; tickets everywhere (with
    `estates`, in three estates of two communities, each with the same building numbers)."""
    places: list[Estate | None] = [None]
    if estates:
        places = [session.query(Estate).one(), Estate(name="东苑", community="和顺社区", street="龙溪街道"),
                  Estate(name="西苑", community="另一社区", street="龙溪街道")]
        session.add_all(places)
        session.flush()
    for n in range(14 if not estates else 24):
        role = LEVELS[n % 5] if n < 10 else rng.choice(("grid", "property"))
        where = rng.choice(places)
        member = Staff(user_id=f"s{n}", channel="wecom", name=f"员工{n}", role=role,
                       categories=rng.choice(("", "", "elevator,water", "sanitation")),
                       estate_id=where.id if where is not None and role in ("grid", "property", "estate")
                       else None,
                       community=where.community if where is not None and role == "community" else None)
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            building = str(rng.randint(1, 5))
            unit = rng.choice((None, str(rng.randint(1, 2))))
            room = rng.choice((None, "501", "502")) if unit else None
            member.coverage.append(Coverage(building=building, unit=unit, room=room))
        session.add(member)
    reporter = Resident(openid="oScaleTest", created_at=now, pushes_since_inbound=0)
    session.add(reporter)
    session.flush()
    people = session.query(Staff).all()
    for n in range(160):
        building = rng.choice((None, "1", "2", "3", "4", "5", "6"))
        unit = rng.choice((None, "1", "2")) if building else None
        ticket = Ticket(kind="problem", category=rng.choice(CATEGORIES), reporter_id=reporter.id,
                        building=building, unit=unit, room=rng.choice((None, "501", "502")) if unit else None,
                        place="某处", urgent=False, text="坏了", state=rng.choice(tuple(TRANSITIONS)),
                        level=rng.choice(LEVELS), created_at=now, updated_at=now,
                        response_due_at=now + timedelta(hours=rng.randint(-30, 30)),
                        resolve_due_at=now + timedelta(hours=rng.randint(-80, 80)),
                        estate_id=getattr(rng.choice(places), "id", None))
        ticket.assignee = rng.choice(people) if rng.random() < 0.4 else None
        session.add(ticket)


@pytest.mark.parametrize("seed,estates", [(1, False), (2, False), (3, True), (4, True)])
def test_todo_names_the_same_tickets_as_the_plain_rule(app: Flask, clock, seed: int,
                                                       estates: bool) -> None:
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        _street(session, random.Random(seed), clock(), estates)
    with services.sessions() as session:
        compared = 0
        for me in session.query(Staff).order_by(Staff.id):
            expected = _plain_queue(session, me)
            assert {t.id for t in queue.todo(session, me)} == expected, me.name
            compared += len(expected)
            answer = handlers.todo(StaffTurn(session, me, clock(), services), "")
            if expected:
                assert f"（{len(expected)}件" in answer
        assert compared > 20  # the street gives most people something to do


@pytest.mark.parametrize("kind,candidates", [("owners_ordinary", None), ("owners_major", None),
                                             ("consultation", '["甲", "乙"]')])
def test_database_count_equals_the_python_count(app: Flask, clock, database, kind: str,
                                                candidates: str | None) -> None:
    """On PostgreSQL an open vote is summed by the database; it must give the very same Tally."""
    if database[1] is None:
        pytest.skip("the database count runs on PostgreSQL only")
    from models import Ballot, Home, Vote
    from models import votes

    services = app.extensions["linli"]
    rng = random.Random(kind)
    with transaction(services.sessions) as session:
        homes = session.query(Home).order_by(Home.id).all()
        for home in rng.sample(homes, 40):
            home.owner_id = None  # homes nobody has registered as owner
        voter = Resident(openid="oVoter", created_at=clock(), pushes_since_inbound=0)
        vote = Vote(title="测试", kind=kind, item=None, candidates=candidates, opens_at=clock(),
                    closes_at=clock() + timedelta(days=3), created_at=clock(), created_by="test")
        session.add_all([voter, vote])
        session.flush()
        owners = sorted({h.owner_id for h in homes if h.owner_id is not None})
        households = ([f"owner:{o}" for o in rng.sample(owners, 300)] + [f"home:{h.id}" for h in rng.sample(homes, 300)]
                      + ["developer", "owner:0", "owner:007", f"owner:0{owners[0]}", "owner:abc", "home:", "owner:",
                         "home:99999999", "owner:" + "9" * 30, "home:-3", f"home: {homes[0].id}", "someone"])
        choices = vote.choices + ["nonsense"]
        for household in households:
            session.add(Ballot(vote_id=vote.id, household=household, choice=rng.choice(choices),
                               resident_id=voter.id, cast_at=clock(), changes=0))
    with services.sessions() as session:
        vote = session.get(Vote, vote.id)
        expected = votes.tally(vote.kind, vote.choices, votes.register(session), votes.ballots_of(session, vote))
        assert votes.count(session, vote) == expected
        assert expected.voted_heads > 100 and expected.eligible_heads > 900


def _sqlite_plan(app: Flask, session, ask) -> str:  # type: ignore[no-untyped-def]
    """SQLite's plan for the one read of tickets that `ask()` makes, with its own parameters
    (SQLite keeps no statistics here, so the plan is the same on every machine)."""
    from sqlalchemy import event

    engine = app.extensions["linli"].engine
    asked: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT tickets."):
            asked.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        ask()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    (statement, parameters), = asked
    return " ".join(row[-1] for row in session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, parameters))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_duplicate_check_reads_only_open_tickets_of_the_problem_and_building(app: Flask, clock) -> None:
    """Every report asks it: SQLite's plan must search the open tickets of the category and
    building, not the estate's whole last day."""
    from models.tickets import similar_open

    with transaction(app.extensions["linli"].sessions) as session:
        estate = session.query(Estate).first()
        plan = _sqlite_plan(app, session, lambda: similar_open(
            session, category="lighting", building="9", place=None, now=clock(), resident_id=1,
            estate_id=estate.id if estate else None))
    assert "SEARCH tickets USING INDEX ix_tickets_open_similar (category=? AND building=?" in plan, plan


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_todo_reads_only_open_tickets(app: Flask, clock) -> None:
    """待办 asks for open tickets: SQLite's plan must read them from the partial indexes of open
    tickets, not walk every ticket there ever was."""
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        _street(session, random.Random(3), clock())
    with services.sessions() as session:
        me = session.query(Staff).filter(Staff.role == "grid").order_by(Staff.id).first()
        plan = _sqlite_plan(app, session, lambda: queue.todo(session, me))
    assert "SCAN tickets" not in plan, plan
    assert "ix_tickets_open_" in plan, plan
