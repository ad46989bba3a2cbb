"""The security migrations convert what a running estate already holds (issue 18): phones become
keyed hashes and last four digits, ballots get their casters' casts, and token rows named after
a secret go."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from typing import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from models import make_engine
from models.migrate import upgrade

KEY = b"a-test-hash-key-of-at-least-32-characters"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(database: tuple[str, str | None]) -> Iterator[Engine]:
    url, schema = database
    made = make_engine(url, schema=schema)
    yield made
    made.dispose()


def an_estate_before_the_security_migrations(engine: Engine) -> None:
    """A database at revision 0011 with an owner, a resident's ballot and two token rows."""
    upgrade(engine, "0011")
    with engine.begin() as conn:
        for statement in (
                "INSERT INTO estates (id, name, community, street) VALUES (1, '邻里花园', 'c', 's')",
                "INSERT INTO buildings (id, estate_id, number) VALUES (1, 1, '5')",
                "INSERT INTO units (id, building_id, number) VALUES (1, 1, '2')",
                "INSERT INTO owners (id, name, phone) VALUES (1, '王秀英', '13912345678')",
                "INSERT INTO homes (id, unit_id, room, area_m2, owner_id, unsold) "
                "VALUES (1, 1, '1203', 89.37, 1, false)",
                "INSERT INTO residents (id, openid, home_id, role, verified, following, subscribed, "
                "created_at, pushes_since_inbound) VALUES (1, 'oOwner', 1, 'owner', true, true, false, :now, 0)",
                "INSERT INTO votes (id, title, kind, opens_at, closes_at, created_at, created_by) "
                "VALUES (1, 't', 'consultation', :now, :now, :now, 'cli')",
                "INSERT INTO ballots (id, vote_id, household, choice, resident_id, cast_at, changes) "
                "VALUES (1, 1, 'home:1', 'agree', 1, :now, 0)",
                "INSERT INTO access_tokens (key, value, expires_at) VALUES "
                "('ww0000000000demo_demo-wecom_access_token', 'T1', :now), "
                "('wx0000000000demo_access_token', 'T2', :now)"):
            conn.execute(text(statement), {"now": NOW})


def test_the_migrations_convert_an_estates_rows(engine: Engine) -> None:
    an_estate_before_the_security_migrations(engine)
    upgrade(engine, hash_key=KEY)
    columns = {c["name"] for c in inspect(engine).get_columns("owners")}
    assert "phone" not in columns
    with engine.connect() as conn:
        owner = conn.execute(text("SELECT phone_hash, phone_tail FROM owners")).one()
        casts = conn.execute(text("SELECT vote_id, household, resident_id, choice FROM ballot_casts")).all()
        tokens = conn.execute(text("SELECT key FROM access_tokens")).scalars().all()
        everything = " ".join(str(row) for table in inspect(conn).get_table_names()
                              for row in conn.execute(text(f"SELECT * FROM {table}")))
    assert owner == (hmac.new(KEY, b"13912345678", hashlib.sha256).hexdigest(), "5678")
    assert "13912345678" not in everything  # the number is nowhere
    assert casts == [(1, "home:1", 1, "agree")]
    assert tokens == ["wx0000000000demo_access_token"]  # the one named after a secret is gone
    assert "binding_locks" not in inspect(engine).get_table_names()


def test_phones_are_never_converted_without_the_key(engine: Engine) -> None:
    an_estate_before_the_security_migrations(engine)
    with pytest.raises(RuntimeError, match="init-db"):
        upgrade(engine)


def an_estate_of_the_previous_release(engine: Engine) -> None:
    """A database at revision 0018 (before estates were many): one estate, its staff, a ticket, a vote."""
    upgrade(engine, "0018")
    with engine.begin() as conn:
        for statement in (
                "INSERT INTO estates (id, name, community, street) VALUES (1, '邻里花园', '和顺社区', '龙溪街道')",
                "INSERT INTO buildings (id, estate_id, number) VALUES (1, 1, '3')",
                "INSERT INTO units (id, building_id, number) VALUES (1, 1, '2')",
                "INSERT INTO homes (id, unit_id, room, area_m2, owner_id, unsold) "
                "VALUES (1, 1, '501', 89.37, NULL, false)",
                "INSERT INTO residents (id, openid, home_id, role, verified, following, subscribed, "
                "created_at, pushes_since_inbound) VALUES (1, 'oTenant', 1, 'tenant', true, true, false, :now, 0)",
                "INSERT INTO staff (id, user_id, channel, name, role, buildings, categories) VALUES "
                "(1, 'wang', 'wecom', '王网格', 'grid', '3', ''), "
                "(2, 'he', 'wecom', '何社区', 'community', '', ''), "
                "(3, 'jie', 'wecom', '街道甲', 'street', '', '')",
                "INSERT INTO tickets (kind, category, reporter_id, building, unit, room, place, urgent, "
                "text, state, level, created_at, updated_at, reopen_count) VALUES ('problem', 'elevator', "
                "1, '3', '2', '501', '3栋2单元501', false, '3栋电梯坏了', 'open', 'grid', :now, :now, 0)",
                "INSERT INTO votes (id, title, kind, opens_at, closes_at, created_at, created_by) "
                "VALUES (4, 't', 'consultation', :now, :now, :now, 'cli')"):
            conn.execute(text(statement), {"now": NOW})


def test_a_single_estate_database_migrates_with_its_data(engine: Engine) -> None:
    an_estate_of_the_previous_release(engine)
    upgrade(engine, hash_key=KEY)
    with engine.begin() as conn:
        ticket = conn.execute(text("SELECT id, estate_id, building, text, state FROM tickets")).one()
        vote = conn.execute(text("SELECT id, estate_id, title FROM votes")).one()
        staff = conn.execute(text("SELECT user_id, estate_id, community FROM staff ORDER BY id")).all()
        conn.execute(text(
            "INSERT INTO tickets (kind, category, reporter_id, urgent, text, state, level, created_at, "
            "updated_at, reopen_count, estate_id) VALUES ('problem', 'other', 1, false, 'x', 'open', "
            "'grid', :now, :now, 0, 1)"), {"now": NOW})
        numbers = conn.execute(text("SELECT id FROM tickets ORDER BY id")).scalars().all()
    assert ticket == (1, 1, "3", "3栋电梯坏了", "open")
    assert vote == (4, 1, "t")
    # the grid worker acts in the estate, the community officer in its community, the street everywhere
    assert staff == [("wang", 1, None), ("he", None, "和顺社区"), ("jie", None, None)]
    assert numbers == [1, 2]  # numbering goes on after the old tickets
