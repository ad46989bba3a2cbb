"""A street of estates in PostgreSQL for bench_scale.py, written with COPY (no ORM inserts).

The default shape: 50 estates, 2,000 buildings, 100,000 homes, 120,000 residents, 607 staff with
12,000 coverage rows, 1,000,000 tickets over two years (states, categories, levels, ratings spread
as the demo's history), one follower per ticket, and an open owners' vote with 20,000 ballots.
Buildings are numbered through the street (1..2000): tickets name a building by its number only.
Everything comes from one seeded generator, so the same shape gives the same data.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import psycopg

from models.estate import phone_hash

GENERATOR = 2  # bump when the data below changes, so a cached database is rebuilt
HASH_KEY = b"linli-bench-scale-hash-key-not-a-secret"  # owners' phones are stored as keyed hashes
CATEGORIES = (("elevator", 14), ("sanitation", 16), ("lighting", 10), ("water", 11), ("facilities", 9),
              ("parking", 9), ("fire_safety", 7), ("greenery", 6), ("noise", 6), ("security", 4),
              ("property_service", 4), ("neighbor_dispute", 2), ("assistance", 2),
              ("illegal_construction", 1), ("other", 3))
TEXTS = ("电梯运行时异响很大", "楼下垃圾桶满了没人收", "楼道灯不亮了", "下水道堵了反水", "健身器材松动了",
         "电动车乱停堵路", "有人飞线给电瓶车充电", "绿化带被挖了种菜", "楼上装修太早就开始打电钻",
         "单元门禁坏了谁都能进")
LEVELS = (("grid", 74), ("property", 17), ("estate", 6), ("community", 2), ("street", 1))
AREAS = ("68.52", "89.37", "96.15", "108.64", "121.08", "132.90")
BUILDINGS_PER_ESTATE, UNITS_PER_BUILDING = 40, 2
# Tickets resolved or closed long ago, and the few still open: shares by age.
RECENT_STATES = (("open", 22), ("claimed", 33), ("resolved", 35), ("reopened", 3), ("rejected", 5),
                 ("merged", 2))
OLD_STATES = (("closed", 90), ("resolved", 2), ("rejected", 4), ("merged", 2), ("open", 0.6),
              ("claimed", 1.2), ("reopened", 0.2))


@dataclass(frozen=True)
class Shape:
    """What the street holds; a cached database is reused only when this matches."""

    estates: int = 50
    homes: int = 100_000
    tickets: int = 1_000_000
    ballots: int = 20_000
    days: int = 730
    generator: int = GENERATOR

    def key(self) -> str:
        """The shape and the migrations it was made under: a schema change rebuilds the data."""
        return json.dumps(asdict(self) | {"migrations": migrations_digest()}, sort_keys=True)


def migrations_digest() -> str:
    """A digest of every migration file, so data made under another schema is not reused."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent.parent / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> Iterator[str]:
    names, weights = zip(*table)
    while True:
        yield from rng.choices(names, weights, k=4096)


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    count = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)
            count += 1
    return count


def load(conn: psycopg.Connection, shape: Shape, now: datetime, say: Any = print) -> dict[str, Any]:
    """Fill an empty, migrated database; return ids the bench needs (staff, vote, a deep ticket)."""
    rng = random.Random(20261128)
    started = time.monotonic()
    _copy(conn, "estates", ("id", "name", "community", "street"),
          ((e, f"邻里花园{e:02d}区", f"和顺{(e - 1) // 10 + 1}社区", "龙溪街道") for e in range(1, shape.estates + 1)))
    buildings = shape.estates * BUILDINGS_PER_ESTATE
    _copy(conn, "buildings", ("id", "estate_id", "number"),
          ((b, (b - 1) // BUILDINGS_PER_ESTATE + 1, str(b)) for b in range(1, buildings + 1)))
    units = buildings * UNITS_PER_BUILDING
    _copy(conn, "units", ("id", "building_id", "number"),
          ((u, (u - 1) // UNITS_PER_BUILDING + 1, str((u - 1) % UNITS_PER_BUILDING + 1))
           for u in range(1, units + 1)))
    per_unit = -(-shape.homes // units)
    homes: list[tuple] = []
    owner_of: list[int | None] = []
    owners = 0
    for h in range(shape.homes):
        unit, n = h // per_unit + 1, h % per_unit
        unsold = h % 97 == 13
        if not unsold and h % 50 != 49:
            owners += 1  # every 50th home belongs to the owner of the home before it
        owner_of.append(None if unsold else owners)
        homes.append((h + 1, unit, f"{n // 2 + 1}{n % 2 + 1:02d}", AREAS[h * 7 % len(AREAS)], unsold))
    _copy(conn, "owners", ("id", "name", "phone_hash", "phone_tail"),
          ((o, f"业主{o}", phone_hash(HASH_KEY, f"139{o:08d}"), f"{o % 10000:04d}")
           for o in range(1, owners + 1)))
    _copy(conn, "homes", ("id", "unit_id", "room", "area_m2", "unsold", "owner_id"),
          (home + (owner_of[i],) for i, home in enumerate(homes)))
    residents = shape.homes * 6 // 5
    start = now - timedelta(days=shape.days)
    _copy(conn, "residents", ("id", "openid", "home_id", "role", "verified", "following", "subscribed",
                              "created_at", "pushes_since_inbound"),
          ((r, f"oScale{r:07d}", (r - 1) % shape.homes + 1, "owner" if r <= shape.homes else "tenant",
            True, True, r % 3 == 0, start, 0) for r in range(1, residents + 1)))
    say(f"  register: {shape.estates} estates, {buildings} buildings, {shape.homes} homes, {owners} owners,"
        f" {residents} residents ({time.monotonic() - started:.0f} s)")

    staff, coverage, by_level = _staff(shape)
    _copy(conn, "staff", ("id", "user_id", "channel", "name", "role", "buildings", "categories"), staff)
    _copy(conn, "staff_coverage", ("id", "staff_id", "building", "unit", "room"), coverage)

    ids = _tickets(conn, rng, shape, now, by_level, residents)
    say(f"  tickets: {shape.tickets} and their reporters as followers ({time.monotonic() - started:.0f} s)")
    ids["vote"] = _vote(conn, rng, shape, now, owners, residents)
    ids["property_staff"] = by_level["property"][0][0]  # estate 1's general property desk
    ids["grid_staff"] = by_level["grid"][0][0]
    for table in ("estates", "buildings", "units", "owners", "homes", "residents", "staff", "staff_coverage",
                  "tickets", "ticket_followers", "votes", "ballots"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT coalesce(max(id), 1) FROM {table}))")
    return ids


def _staff(shape: Shape) -> tuple[list[tuple], list[tuple], dict[str, list[tuple[int, list[int]]]]]:
    """Grid workers for five buildings each, three property desks, an estate officer per estate,
    a community office per ten estates and two street officers."""
    staff: list[tuple] = []
    coverage: list[tuple] = []
    by_level: dict[str, list[tuple[int, list[int]]]] = {level: [] for level, _ in LEVELS}

    def add(role: str, name: str, covered: list[int], categories: str = "") -> None:
        sid = len(staff) + 1
        spec = f"{covered[0]}-{covered[-1]}" if covered else ""
        staff.append((sid, f"scale-{role}-{sid}", "wecom", name, role, spec, categories))
        for b in covered:
            coverage.append((len(coverage) + 1, sid, str(b), None, None))
        by_level[role].append((sid, covered))

    buildings = shape.estates * BUILDINGS_PER_ESTATE
    for first in range(1, buildings + 1, 5):
        add("grid", f"网格员{first}", list(range(first, min(first + 5, buildings + 1))))
    for e in range(shape.estates):
        own = list(range(e * BUILDINGS_PER_ESTATE + 1, (e + 1) * BUILDINGS_PER_ESTATE + 1))
        add("property", f"物业{e + 1}区综合", own)
        add("property", f"物业{e + 1}区工程", own, "elevator,water,lighting,facilities")
        add("property", f"物业{e + 1}区环境", own, "sanitation,greenery,parking")
        add("estate", f"小区{e + 1}区", own)
    for c in range(0, shape.estates, 10):
        add("community", f"社区{c // 10 + 1}",
            list(range(c * BUILDINGS_PER_ESTATE + 1, min(c + 10, shape.estates) * BUILDINGS_PER_ESTATE + 1)))
    add("street", "街道甲", [])
    add("street", "街道乙", [])
    return staff, coverage, by_level


def _tickets(conn: psycopg.Connection, rng: random.Random, shape: Shape, now: datetime,
             by_level: dict[str, list[tuple[int, list[int]]]], residents: int) -> dict[str, Any]:
    categories = _weighted(rng, CATEGORIES)
    levels = _weighted(rng, LEVELS)
    recent_states, old_states = _weighted(rng, RECENT_STATES), _weighted(rng, OLD_STATES)
    buildings = shape.estates * BUILDINGS_PER_ESTATE
    grid_of = {b: sid for sid, covered in by_level["grid"] for b in covered}
    estate_desk = {i: sid for i, (sid, _c) in enumerate(by_level["property"][::3])}
    span = shape.days * 86400
    offsets = sorted(rng.random() * span for _ in range(shape.tickets))  # numbers follow time
    start = now - timedelta(seconds=span)
    columns = ("id", "kind", "category", "reporter_id", "building", "unit", "room", "place", "urgent", "text",
               "state", "level", "created_at", "updated_at", "resolved_at", "assignee_id", "first_response_at",
               "response_due_at", "resolve_due_at", "rating", "reopen_count")

    def rows() -> Iterator[tuple]:
        for i, offset in enumerate(offsets, 1):
            created = start + timedelta(seconds=offset)
            suggestion = rng.random() < 0.03
            category = None if suggestion else next(categories)
            b = rng.randint(1, buildings)
            unit = str(rng.randint(1, UNITS_PER_BUILDING)) if rng.random() < 0.6 else None
            room = f"{rng.randint(1, 13)}0{rng.randint(1, 2)}" if unit and rng.random() < 0.4 else None
            urgent = not suggestion and rng.random() < 0.03
            age = now - created
            state = next(recent_states if age < timedelta(days=7) else old_states)
            level = next(levels)
            response_due = created + (timedelta(minutes=30) if urgent else timedelta(hours=24))
            resolve_due = created + (timedelta(hours=24) if urgent else
                                     timedelta(days=7) if category in ("facilities", "parking") else timedelta(days=3))
            responded = None if state == "open" else created + timedelta(minutes=rng.lognormvariate(6.5, 0.8))
            resolved = created + timedelta(hours=rng.lognormvariate(3.9, 0.6)) \
                if state in ("resolved", "closed") else None
            if resolved and resolved > now:
                resolved = now - timedelta(minutes=1)
            if responded and responded > now:
                responded = now - timedelta(minutes=2)
            assignee = None
            if state in ("claimed", "resolved", "closed", "reopened") and rng.random() < 0.97:
                assignee = grid_of[b] if level == "grid" else estate_desk[(b - 1) // BUILDINGS_PER_ESTATE]
            rating = None
            if state == "closed" and rng.random() < 0.8:
                rating = rng.choices((5, 4, 3, 2, 1), (62, 28, 5, 3, 2))[0]
            place = f"{b}栋{unit}单元" if unit else f"{b}栋"
            yield (i, "suggestion" if suggestion else "problem", category, rng.randint(1, residents), str(b),
                   unit, room, place, urgent, TEXTS[i % len(TEXTS)], state, level, created,
                   resolved or responded or created, resolved, assignee, responded, response_due, resolve_due,
                   rating, 1 if state == "reopened" or (state == "closed" and rng.random() < 0.03) else 0)

    reporters: list[tuple[int, int, datetime]] = []

    def keep(row_: tuple) -> tuple:
        reporters.append((row_[0], row_[3], row_[12]))
        return row_

    _copy(conn, "tickets", columns, (keep(r) for r in rows()))
    _copy(conn, "ticket_followers", ("id", "ticket_id", "resident_id", "joined_at", "how"),
          ((t, t, r, at, "reported") for t, r, at in reporters))
    return {"deep_ticket": shape.tickets // 2, "newest_ticket": shape.tickets}


def _vote(conn: psycopg.Connection, rng: random.Random, shape: Shape, now: datetime, owners: int,
          residents: int) -> int:
    """An open owners' vote with `ballots` owners' ballots."""
    conn.execute("INSERT INTO votes (id, title, kind, item, candidates, opens_at, closes_at, created_at, "
                 "created_by) VALUES (1, '续聘物业服务企业', 'owners_ordinary', 4, NULL, %s, %s, %s, 'bench')",
                 (now - timedelta(days=3), now + timedelta(days=30), now - timedelta(days=3)))
    voters = rng.sample(range(1, owners + 1), min(shape.ballots, owners))
    choices = _weighted(rng, (("agree", 60), ("oppose", 25), ("abstain", 15)))
    _copy(conn, "ballots", ("id", "vote_id", "household", "choice", "resident_id", "cast_at", "changes"),
          ((n, 1, f"owner:{o}", next(choices), o % residents + 1, now - timedelta(hours=n % 70), 0)
           for n, o in enumerate(voters, 1)))
    return 1


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
