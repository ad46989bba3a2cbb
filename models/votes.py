"""Votes and ballots, and the count under Article 278 of the Civil Code, in exact arithmetic.

A ballot belongs to a household: for owners' votes the owner (so that one owner's
several homes vote once, and co-owners of a home share its vote), for all of the
developer's unsold homes together one household ("developer"), and for a
consultation each home. The last choice a household makes is the one counted.

Each resident's own latest choice is kept too (`BallotCast`), so that withdrawing one
resident's choices (erasure, rebinding, unbinding) takes away only what they cast: the
household's ballot falls back to the latest choice of someone still eligible for it, or
goes, and nothing is restored from anyone who no longer is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping

from sqlalchemy import (BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, and_,
                        bindparam, case, func, literal, or_, select, text)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from models.db import INSERTS, Base, UTCDateTime, built_once, one_of
from models.estate import Building, Home, Resident, Unit

KINDS = ("consultation", "owners_ordinary", "owners_major")
OWNERS_KINDS = ("owners_ordinary", "owners_major")
MAJOR_ITEMS = (6, 7, 8)  # Article 278: raising funds, rebuilding, changing the use of common parts
PLAIN = ("agree", "oppose", "abstain")
ABSTAIN = "abstain"
QUORUM = Fraction(2, 3)
# kind -> (share of participating area and heads, whether reaching it exactly is enough)
THRESHOLDS: dict[str, tuple[Fraction, bool]] = {
    "owners_major": (Fraction(3, 4), True),
    "owners_ordinary": (Fraction(1, 2), False),
}
DEVELOPER = "developer"


class VoteError(ValueError):
    """A vote that cannot be made or cast as asked; the message says why."""


class Vote(Base):
    """A vote: an owners' decision or a consultation, open from `opens_at` to `closes_at`."""

    __tablename__ = "votes"
    __table_args__ = {"sqlite_autoincrement": True}  # vote numbers are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    # whose register counts: the estate's homes only (None: every home, as before estates)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    item: Mapped[int | None] = mapped_column(Integer)  # Article 278 item, 1..9
    candidates: Mapped[str | None] = mapped_column(Text)  # JSON list; None: agree/oppose/abstain
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The register as it stood at closing (JSON): a closed vote's count never changes after.
    frozen_register: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    @property
    def labels(self) -> list[str]:
        """Return the candidates' labels, empty for an agree/oppose/abstain vote."""
        return json.loads(self.candidates) if self.candidates else []

    @property
    def choices(self) -> list[str]:
        """Return every choice a ballot may hold, in the order they are shown."""
        return [*self.labels, ABSTAIN] if self.candidates else list(PLAIN)

    def state(self, now: datetime) -> str:
        """Say whether the vote is "scheduled", "open" or "closed" at `now`."""
        if self.closed_at is not None or self.closes_at <= now:
            return "closed"
        return "open" if self.opens_at <= now else "scheduled"


class Ballot(Base):
    """One household's choice in one vote; changing it replaces it."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("vote_id", "household"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    household: Mapped[str] = mapped_column(String(40))
    choice: Mapped[str] = mapped_column(String(100))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changes: Mapped[int] = mapped_column(Integer, default=0)  # how many times it was replaced


class BallotCast(Base):
    """One resident's latest choice in one vote, for the household they voted for."""

    __tablename__ = "ballot_casts"
    __table_args__ = (UniqueConstraint("vote_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    household: Mapped[str] = mapped_column(String(40))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    choice: Mapped[str] = mapped_column(String(100))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class RegisterHome:
    """What the count needs of a home: its area, owner and whether it is still unsold."""

    home_id: int
    area: Decimal
    owner_id: int | None
    unsold: bool


@dataclass(frozen=True)
class OptionTally:
    """One choice's support: area and heads, and their shares of those who took part."""

    option: str
    area: Decimal
    heads: int
    area_share: Fraction
    head_share: Fraction
    passed: bool


@dataclass(frozen=True)
class Tally:
    """The whole count of a vote."""

    kind: str
    eligible_area: Decimal
    eligible_heads: int
    voted_area: Decimal
    voted_heads: int
    quorum_met: bool
    options: tuple[OptionTally, ...]
    passed: bool

    @property
    def area_turnout(self) -> Fraction:
        """Return the share of the total area that took part."""
        return _share(self.voted_area, self.eligible_area)

    @property
    def head_turnout(self) -> Fraction:
        """Return the share of the owners (by headcount) that took part."""
        return _share(self.voted_heads, self.eligible_heads)


def household_of(kind: str, home: RegisterHome) -> str:
    """Return the household that votes for a home in a vote of this kind."""
    if kind not in OWNERS_KINDS:
        return f"home:{home.home_id}"
    if home.unsold:
        return DEVELOPER  # all the developer's unsold homes count once together
    return f"owner:{home.owner_id}" if home.owner_id is not None else f"home:{home.home_id}"


def tally(kind: str, choices: list[str], homes: Iterable[RegisterHome],
          ballots: Mapping[str, str]) -> Tally:
    """Count the ballots (household -> choice) over the register, exactly."""
    areas: dict[str, Decimal] = {}
    for home in homes:
        key = household_of(kind, home)
        areas[key] = areas.get(key, Decimal(0)) + Decimal(home.area)
    counted = {h: c for h, c in ballots.items() if h in areas and c in choices}
    per_option = {c: (sum((areas[h] for h, x in counted.items() if x == c), Decimal(0)),
                      sum(1 for x in counted.values() if x == c)) for c in choices}
    return decide(kind, sum(areas.values(), Decimal(0)), len(areas), per_option)


def decide(kind: str, eligible_area: Decimal, eligible_heads: int,
           per_option: Mapping[str, tuple[Decimal, int]]) -> Tally:
    """Apply Article 278 to the totals: each choice's (area, households) among those counted."""
    voted_area = sum((area for area, _heads in per_option.values()), Decimal(0))
    voted_heads = sum(heads for _area, heads in per_option.values())
    if kind in OWNERS_KINDS:
        quorum = _share(voted_area, eligible_area) >= QUORUM \
            and _share(voted_heads, eligible_heads) >= QUORUM
    else:
        quorum = bool(voted_heads)  # a consultation has no quorum; it needs someone to answer
    winner = _plurality(per_option) if kind not in OWNERS_KINDS else None
    options = tuple(OptionTally(
        c, area, heads, _share(area, voted_area), _share(heads, voted_heads),
        quorum and c != ABSTAIN and (c == winner if kind not in OWNERS_KINDS
                                     else _approves(kind, _share(area, voted_area),
                                                    _share(heads, voted_heads))))
        for c, (area, heads) in per_option.items())
    passed = next(o.passed for o in options if o.option == "agree") if "agree" in per_option \
        else any(o.passed for o in options)
    return Tally(kind, eligible_area, eligible_heads, voted_area, voted_heads, quorum, options, passed)


def _approves(kind: str, area_share: Fraction, head_share: Fraction) -> bool:
    threshold, inclusive = THRESHOLDS[kind]
    if inclusive:
        return area_share >= threshold and head_share >= threshold
    return area_share > threshold and head_share > threshold


def _plurality(per_option: Mapping[str, tuple[Decimal, int]]) -> str | None:
    """The choice with strictly the most households, abstentions aside; none on a tie."""
    ranked = sorted(((heads, c) for c, (_area, heads) in per_option.items() if c != ABSTAIN),
                    reverse=True)
    if not ranked or ranked[0][0] == 0 or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return None
    return ranked[0][1]


def _share(part: Decimal | int, whole: Decimal | int) -> Fraction:
    return Fraction(part) / Fraction(whole) if whole else Fraction(0)


def register(session: Session, estate_id: int | None = None) -> list[RegisterHome]:
    """Return every registered home (of the estate, when one is named) as the count sees it."""
    query = select(Home.id, Home.area_m2, Home.owner_id, Home.unsold)
    return [RegisterHome(i, a, o, bool(u)) for i, a, o, u in session.execute(
        _in_estate(query, estate_id).order_by(Home.id))]


def _in_estate(query: Any, estate_id: int | None) -> Any:
    """Narrow a query of homes to one estate's (None: leave it)."""
    if estate_id is None:
        return query
    return query.join(Unit, Home.unit_id == Unit.id).join(Building, Unit.building_id == Building.id) \
        .where(Building.estate_id == estate_id)


def ballots_of(session: Session, vote: Vote) -> dict[str, str]:
    """Return household -> choice for a vote."""
    rows = session.execute(select(Ballot.household, Ballot.choice).where(Ballot.vote_id == vote.id))
    return {household: choice for household, choice in rows}


def count(session: Session, vote: Vote) -> Tally:
    """Count a vote: over the register frozen at its closing, or the current one while open.

    On PostgreSQL an open vote is summed by the database (exact NUMERIC sums), so a street's
    100,000 homes never travel to Python; SQLite sums floats, so there the homes are read and
    added up here as Decimals. Both give the same Tally (tests/test_bench_scale.py compares them).
    """
    if vote.frozen_register:
        return tally(vote.kind, vote.choices, thaw(vote.frozen_register), ballots_of(session, vote))
    if session.get_bind().dialect.name == "postgresql":
        return _count_in_database(session, vote)
    return tally(vote.kind, vote.choices, register(session, vote.estate_id), ballots_of(session, vote))


# The register's households and each ballot's, summed by PostgreSQL. A ballot counts when its
# household holds a home today (its text exactly as household_of gives it) and its choice is
# one of the vote's; an owner's ballot sums their homes through ix_homes_owner_area.
_ELIGIBLE = {
    True: "SELECT coalesce(sum(area_m2), 0), count(DISTINCT owner_id) FILTER (WHERE NOT unsold "
          "AND owner_id IS NOT NULL) + count(*) FILTER (WHERE NOT unsold AND owner_id IS NULL) "
          "+ CASE WHEN bool_or(unsold) THEN 1 ELSE 0 END FROM {homes} AS homes",
    False: "SELECT coalesce(sum(area_m2), 0), count(*) FROM {homes} AS homes",
}
_BALLOTS = "WITH b AS (SELECT choice, household FROM ballots WHERE vote_id = :vote AND choice IN :choices)"
# Only a household written exactly as household_of writes it is read as a number (no cast can fail).
_NUMBERED = """
, {name}_read AS MATERIALIZED (SELECT choice, household, CAST(substr(household, {skip}) AS BIGINT) AS number
  FROM b WHERE household LIKE '{prefix}%' AND length(household) BETWEEN {skip} AND {skip} + 17
   AND ltrim(substr(household, {skip}), '0123456789') = '')
, {name} AS (SELECT * FROM {name}_read WHERE '{prefix}' || number = household)"""
_VOTED = {
    True: _BALLOTS + _NUMBERED.format(name="bo", prefix="owner:", skip=7)
    + _NUMBERED.format(name="bh", prefix="home:", skip=6) + """
, counted AS MATERIALIZED (
  SELECT choice, (SELECT sum(area_m2) FROM {homes} AS homes WHERE owner_id = bo.number AND NOT unsold)
   AS area FROM bo
  UNION ALL SELECT choice, (SELECT area_m2 FROM {homes} AS homes WHERE id = bh.number AND NOT unsold
                            AND owner_id IS NULL) FROM bh
  UNION ALL SELECT choice, (SELECT sum(area_m2) FROM {homes} AS homes WHERE unsold) FROM b
   WHERE household = 'developer')
SELECT choice, sum(area), count(*) FROM counted WHERE area IS NOT NULL GROUP BY choice""",
    False: _BALLOTS + _NUMBERED.format(name="bh", prefix="home:", skip=6) + """
SELECT bh.choice, sum(h.area_m2), count(*) FROM bh JOIN {homes} AS h ON h.id = bh.number GROUP BY bh.choice""",
}
# One estate's homes, for a vote of that estate (its register is the estate's, Article 278).
_ESTATE_HOMES = ("(SELECT eh.* FROM homes eh JOIN units eu ON eu.id = eh.unit_id "
                 "JOIN buildings eb ON eb.id = eu.building_id WHERE eb.estate_id = :estate)")


def _count_in_database(session: Session, vote: Vote) -> Tally:
    """Count an open vote with PostgreSQL's sums over the current register."""
    owners = vote.kind in OWNERS_KINDS
    homes = "homes" if vote.estate_id is None else _ESTATE_HOMES
    estate = {} if vote.estate_id is None else {"estate": vote.estate_id}
    eligible_area, eligible_heads = session.execute(
        text(_ELIGIBLE[owners].format(homes=homes)), estate).one()
    voted = {choice: (area, heads) for choice, area, heads in session.execute(
        text(_VOTED[owners].replace("{homes}", homes)).bindparams(bindparam("choices", expanding=True)),
        {"vote": vote.id, "choices": vote.choices, **estate})}
    per_option = {c: voted.get(c, (Decimal(0), 0)) for c in vote.choices}
    return decide(vote.kind, eligible_area, eligible_heads, per_option)


def freeze(session: Session, vote: Vote) -> None:
    """Keep the register as it stands now with the vote, so re-imports cannot change its result."""
    vote.frozen_register = json.dumps(
        [[h.home_id, str(h.area), h.owner_id, h.unsold] for h in register(session, vote.estate_id)])


def thaw(frozen: str) -> list[RegisterHome]:
    """Read a frozen register back, areas as exact decimals."""
    return [RegisterHome(i, Decimal(a), o, bool(u)) for i, a, o, u in json.loads(frozen)]


@dataclass(frozen=True)
class Standing:
    """What casting a ballot needs, read in one statement (`standing_in`)."""

    vote: Vote
    home: RegisterHome | None  # the resident's bound home; None when they have none
    home_estate: int | None  # that home's estate
    household: str | None  # who votes for that home in this vote (household_of)
    choice: str | None  # the household's choice so far
    changes: int | None  # how often it was replaced, as read (None: no ballot yet)
    covers: int  # how many homes the household's ballot speaks for, when more than one
    covers_area: Decimal  # and their area


def _household_sql(votes: Any, homes: Any) -> Any:
    """household_of's key for the joined home, as SQL: the two must write it alike."""
    owners = one_of(votes.c.kind, OWNERS_KINDS)
    return case((and_(owners, homes.c.unsold.is_(True)), literal(DEVELOPER)),
                (and_(owners, homes.c.owner_id.is_not(None)),
                 literal("owner:") + sql_cast(homes.c.owner_id, String)),
                else_=literal("home:") + sql_cast(homes.c.id, String))


def _covered_sql(votes: Any, homes: Any, aggregate: Any, covered: Any) -> Any:
    """An aggregate over the homes of the joined home's household in the vote's estate (as
    homes_of finds them) when that can be more than one home: an owner's or the developer's."""
    units, buildings = Unit.__table__.alias("covered_unit"), Building.__table__.alias("covered_building")
    over = select(aggregate).select_from(
        covered.join(units, units.c.id == covered.c.unit_id)
        .join(buildings, buildings.c.id == units.c.building_id)).where(
        or_(votes.c.estate_id.is_(None), buildings.c.estate_id == votes.c.estate_id))
    owners = one_of(votes.c.kind, OWNERS_KINDS)
    # a CASE, so each query runs only for its own kind of household (the owner's by its index)
    return case((and_(owners, homes.c.unsold.is_(True)),
                 over.where(covered.c.unsold.is_(True)).scalar_subquery()),
                (and_(owners, homes.c.owner_id.is_not(None)),
                 over.where(covered.c.owner_id == homes.c.owner_id,
                            covered.c.unsold.is_(False)).scalar_subquery()))


@built_once
def _standing_read(_dialect: str) -> Any:
    votes, homes, ballots = Vote.__table__, Home.__table__, Ballot.__table__
    units, buildings = Unit.__table__, Building.__table__
    covered = homes.alias("covered")
    ballot = (ballots.c.vote_id == votes.c.id, ballots.c.household == _household_sql(votes, homes))
    # areas in hundredths: exact on SQLite too, whose sum() would add them up as floats
    cents = func.sum(sql_cast(func.round(covered.c.area_m2 * 100), BigInteger))
    return (select(Vote, homes.c.id, homes.c.area_m2, homes.c.owner_id, homes.c.unsold,
                   buildings.c.estate_id, select(ballots.c.choice).where(*ballot).scalar_subquery(),
                   select(ballots.c.changes).where(*ballot).scalar_subquery(),
                   _covered_sql(votes, homes, func.count(), covered),
                   _covered_sql(votes, homes, cents, covered))
            .select_from(votes.outerjoin(homes, homes.c.id == bindparam("home", type_=Integer))
                         .outerjoin(units, units.c.id == homes.c.unit_id)
                         .outerjoin(buildings, buildings.c.id == units.c.building_id))
            .where(votes.c.id == bindparam("vote", type_=Integer))
            .options(defer(Vote.frozen_register)))  # a closed vote's register: not needed here


def standing_in(session: Session, number: int, home_id: int | None) -> Standing | None:
    """Read vote #number with the bound home's place in it and its household's ballot, in one
    statement; None when there is no such vote."""
    row = session.execute(_standing_read(session), {"vote": number, "home": home_id}).first()
    if row is None:
        return None
    vote, home, area, owner, unsold, estate, choice, changes, covers, cents = row
    found = None if home is None else RegisterHome(home, area, owner, bool(unsold))
    return Standing(vote, found, estate, None if found is None else household_of(vote.kind, found),
                    choice, changes, covers or 1, Decimal(cents or 0).scaleb(-2))


@built_once
def _cast_upserts(dialect: str) -> tuple[Any, Any]:
    """The household's ballot, unless replaced since it was read, and the resident's own choice:
    each one upsert on its unique key."""
    values = {"vote_id": bindparam("vote"), "household": bindparam("household"),
              "choice": bindparam("choice"), "resident_id": bindparam("resident"),
              "cast_at": bindparam("now", type_=UTCDateTime())}
    ballots, casts = Ballot.__table__, BallotCast.__table__
    ours = INSERTS[dialect](ballots).values({**values, "changes": 0})
    mine = INSERTS[dialect](casts).values(values)
    return (ours.on_conflict_do_update(
                index_elements=[ballots.c.vote_id, ballots.c.household],
                set_={"choice": ours.excluded.choice, "resident_id": ours.excluded.resident_id,
                      "cast_at": ours.excluded.cast_at, "changes": ballots.c.changes + 1},
                where=ballots.c.changes == bindparam("seen", type_=Integer)).returning(ballots.c.id),
            mine.on_conflict_do_update(
                index_elements=[casts.c.vote_id, casts.c.resident_id],
                set_={"household": mine.excluded.household, "choice": mine.excluded.choice,
                      "cast_at": mine.excluded.cast_at}))


def record(session: Session, vote: Vote, household: str, choice: str, resident_id: int,
           now: datetime, *, seen: int | None) -> bool:
    """Record a household's choice and the resident's own, if the household's ballot is as read
    (`seen`: its change count, None for no ballot); False, recording nothing, when it is not.

    The ballot is one upsert on its unique key, so a co-owner's ballot arriving a moment
    earlier is never doubled; and since it replaces only the ballot the caller read, the
    caller can say truly what it replaced (read again and retry on False). SQLite runs one
    writer at a time, so there it never fails.
    """
    if choice not in vote.choices:
        raise VoteError(f"{choice!r} is not a choice of vote #{vote.id}")
    params = {"vote": vote.id, "household": household, "choice": choice,
              "resident": resident_id, "now": now, "seen": seen}
    ballot, own = _cast_upserts(session)
    if session.execute(ballot, params).first() is None:
        return False
    session.execute(own, params)
    return True


def cast(session: Session, vote: Vote, household: str, choice: str, resident_id: int,
         now: datetime) -> str | None:
    """Record a household's choice (and the resident's own); return the choice it replaced, if any."""
    ballots = Ballot.__table__
    while True:
        read = session.execute(select(ballots.c.choice, ballots.c.changes).where(
            ballots.c.vote_id == vote.id, ballots.c.household == household)).first()
        previous, seen = read if read is not None else (None, None)
        if record(session, vote, household, choice, resident_id, now, seen=seen):
            return previous


def withdraw(session: Session, resident_id: int, now: datetime) -> int:
    """Take back a resident's choices in votes not yet decided; return how many.

    Each household they voted for falls back to the latest choice of another resident who
    is still eligible for it (verified, bound to one of its homes, an owner in owners' votes),
    or loses its ballot. Decided votes keep every ballot.
    """
    mine = session.execute(select(BallotCast, Vote).join(Vote, Vote.id == BallotCast.vote_id).where(
        BallotCast.resident_id == resident_id)).all()
    undecided = [(cast, vote) for cast, vote in mine if vote.state(now) != "closed"]
    for cast, vote in undecided:
        session.delete(cast)
        session.flush()
        _recount_household(session, vote, cast.household)
    return len(undecided)


def _recount_household(session: Session, vote: Vote, household: str) -> None:
    """Set the household's ballot to its latest eligible choice, or remove it."""
    ballot = session.scalar(select(Ballot).where(Ballot.vote_id == vote.id,
                                                 Ballot.household == household))
    rows = session.execute(select(BallotCast, Resident).join(
        Resident, Resident.id == BallotCast.resident_id).where(
        BallotCast.vote_id == vote.id, BallotCast.household == household)
        .order_by(BallotCast.cast_at.desc(), BallotCast.id.desc())).all()
    latest = next((cast for cast, resident in rows if eligible(vote, resident, household)), None)
    if latest is None:
        if ballot is not None:
            session.delete(ballot)
        return
    if ballot is None:
        session.add(Ballot(vote_id=vote.id, household=household, choice=latest.choice,
                           resident_id=latest.resident_id, cast_at=latest.cast_at, changes=0))
    elif (ballot.choice, ballot.resident_id) != (latest.choice, latest.resident_id):
        ballot.choice, ballot.resident_id, ballot.cast_at = latest.choice, latest.resident_id, latest.cast_at
        ballot.changes += 1


def eligible(vote: Vote, resident: Resident, household: str | None = None) -> bool:
    """Whether the resident may vote in this vote (for this household, when one is named)."""
    if resident.home is None or not entitled(vote, verified=resident.verified, role=resident.role,
                                             home_estate=resident.home.unit.building.estate_id):
        return False
    return household is None or household_of_home(vote.kind, resident.home) == household


def entitled(vote: Vote, *, verified: bool, role: str | None, home_estate: int | None) -> bool:
    """Whether a resident bound to a home of `home_estate` may vote in this vote.

    Anything counted per home needs a verified binding: phone digits or staff confirmation.
    Owners' decisions are for owners alone.
    """
    if not verified:
        return False
    if vote.estate_id is not None and home_estate != vote.estate_id:
        return False  # another estate's vote: its register is not theirs
    return vote.kind not in OWNERS_KINDS or role == "owner"


def create(session: Session, *, title: str, kind: str, item: int | None, candidates: list[str],
           opens_at: datetime, closes_at: datetime, now: datetime, by: str,
           estate_id: int | None = None) -> Vote:
    """Make a vote after checking its kind, Article 278 item, candidates and times."""
    if kind not in KINDS:
        raise VoteError(f"unknown kind {kind!r}; use {', '.join(KINDS)}")
    if not title.strip():
        raise VoteError("a vote needs a title")
    if item is not None:
        if kind not in OWNERS_KINDS:
            raise VoteError("--item applies to owners' decisions only, not to a consultation")
        if not 1 <= item <= 9:
            raise VoteError("--item must be one of Article 278's items 1..9")
        if (item in MAJOR_ITEMS) != (kind == "owners_major"):
            raise VoteError(f"Article 278 item {item} is "
                            + ("a major matter: use --kind owners_major" if item in MAJOR_ITEMS
                               else "an ordinary matter: use --kind owners_ordinary"))
    labels = [c.strip() for c in candidates if c.strip()]
    if len(set(labels)) != len(labels) or set(labels) & set(PLAIN):
        raise VoteError("candidates must have distinct labels other than agree/oppose/abstain")
    if len(labels) == 1:
        raise VoteError("give at least two candidates, or none for agree/oppose/abstain")
    if closes_at <= max(opens_at, now):
        raise VoteError("the closing time must be after the opening time and in the future")
    vote = Vote(title=title.strip(), kind=kind, item=item,
                candidates=json.dumps(labels, ensure_ascii=False) if labels else None,
                opens_at=opens_at, closes_at=closes_at, created_at=now, created_by=by,
                estate_id=estate_id)
    session.add(vote)
    session.flush()
    return vote


def homes_of(session: Session, kind: str, household: str, estate_id: int | None = None) -> list[Home]:
    """Return the homes a household's ballot speaks for (in the vote's estate)."""
    what, _, number = household.partition(":")
    if kind not in OWNERS_KINDS or what == "home":
        query = select(Home).where(Home.id == int(number))
    elif what == "owner":
        query = select(Home).where(Home.owner_id == int(number), Home.unsold.is_(False))
    else:
        query = select(Home).where(Home.unsold.is_(True))
    return list(session.scalars(_in_estate(query, estate_id).order_by(Home.id)))


def household_of_home(kind: str, home: Home) -> str:
    """Return the household that votes for a registered home."""
    return household_of(kind, RegisterHome(home.id, home.area_m2, home.owner_id, bool(home.unsold)))


def votes_open(session: Session, now: datetime, estate_id: int | None = None) -> list[Vote]:
    """Return the votes one may cast in now (in the estate, with its deployment-wide ones), oldest first."""
    query = select(Vote).where(Vote.closed_at.is_(None), Vote.opens_at <= now, Vote.closes_at > now)
    if estate_id is not None:
        query = query.where(or_(Vote.estate_id == estate_id, Vote.estate_id.is_(None)))
    return list(session.scalars(query.order_by(Vote.id)))


def revoke_by(closed: date) -> date:
    """Return the last day to ask a court to revoke a decision (Article 280: one year)."""
    try:
        return closed.replace(year=closed.year + 1)
    except ValueError:  # 29 February
        return closed.replace(year=closed.year + 1, day=28)
