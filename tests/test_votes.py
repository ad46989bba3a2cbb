"""Votes: the Article 278 count at its edges and against a brute-force recount, casting by chat,
`vote show --json`, closing on time, and a whole owners' vote on the demo estate."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import outbox
from bot.handlers import vote as vote_chat
from models import Ballot, Home, Resident, Vote
from models.votes import PLAIN, RegisterHome, revoke_by, tally
from tests.conftest import Clock
from tests.factories import WeChatPeer
from tests.test_staff import resident_messages
from tests.fakes import FakeWeChat


def homes(*specs: tuple[str, int | None]) -> list[RegisterHome]:
    """Homes from (area, owner id or None for an unsold home)."""
    return [RegisterHome(i, Decimal(area), owner, owner is None)
            for i, (area, owner) in enumerate(specs, 1)]


def option(result, name: str):  # type: ignore[no-untyped-def]
    return next(o for o in result.options if o.option == name)


# ---- the count -------------------------------------------------------------

def test_exactly_two_thirds_turnout_is_a_quorum_and_just_less_is_not() -> None:
    register = homes(("100", 1), ("100", 2), ("100", 3))
    result = tally("owners_ordinary", list(PLAIN), register, {"owner:1": "agree", "owner:2": "agree"})
    assert (result.area_turnout, result.head_turnout, result.quorum_met) == (Fraction(2, 3),) * 2 + (True,)
    assert result.passed
    short = homes(("100", 1), ("100", 2), ("100.01", 3))  # area turnout 200/300.01 < 2/3
    result = tally("owners_ordinary", list(PLAIN), short, {"owner:1": "agree", "owner:2": "agree"})
    assert result.head_turnout == Fraction(2, 3) and not result.quorum_met and not result.passed


def test_exactly_half_fails_an_ordinary_matter_and_just_over_passes() -> None:
    register = homes(("50", 1), ("50", 2), ("50", 3), ("50", 4))
    half = tally("owners_ordinary", list(PLAIN), register,
                 {"owner:1": "agree", "owner:2": "agree", "owner:3": "oppose", "owner:4": "oppose"})
    assert option(half, "agree").head_share == Fraction(1, 2) and not half.passed
    uneven = homes(("50.01", 1), ("50", 2), ("50", 3), ("49.99", 4), ("50", 5))
    over = tally("owners_ordinary", list(PLAIN), uneven,
                 {"owner:1": "agree", "owner:2": "agree", "owner:5": "agree", "owner:3": "oppose"})
    assert option(over, "agree").head_share == Fraction(3, 4) and over.passed


def test_exactly_three_quarters_passes_a_major_matter_and_just_less_fails() -> None:
    register = homes(*[("80", n) for n in range(1, 5)])
    ballots = {"owner:1": "agree", "owner:2": "agree", "owner:3": "agree", "owner:4": "oppose"}
    result = tally("owners_major", list(PLAIN), register, ballots)
    assert (option(result, "agree").area_share, option(result, "agree").head_share) == \
        (Fraction(3, 4), Fraction(3, 4))
    assert result.passed and option(result, "agree").passed
    lighter = homes(("79.99", 1), ("80", 2), ("80", 3), ("80", 4))
    assert not tally("owners_major", list(PLAIN), lighter, ballots).passed


def test_one_owner_of_three_homes_counts_once_with_all_their_area() -> None:
    register = homes(("70", 7), ("80", 7), ("90", 7), ("100", 8), ("110", 9))
    result = tally("owners_ordinary", list(PLAIN), register, {"owner:7": "agree"})
    assert (result.eligible_heads, result.eligible_area) == (3, Decimal("450"))
    assert (result.voted_heads, result.voted_area) == (1, Decimal("240"))
    assert option(result, "agree").heads == 1


def test_all_unsold_homes_count_once_and_abstaining_takes_part_but_never_passes() -> None:
    register = homes(("100", None), ("100", None), ("100", None), ("100", 1), ("100", 2))
    result = tally("owners_ordinary", list(PLAIN), register,
                   {"developer": "abstain", "owner:1": "agree", "owner:2": "agree"})
    assert (result.eligible_heads, result.voted_heads, result.voted_area) == (3, 3, Decimal("500"))
    assert result.quorum_met and not result.passed  # agree: 2/3 of heads but 2/5 of the area
    assert not option(result, "abstain").passed and option(result, "abstain").area == Decimal("300")


def test_candidates_are_each_counted_the_same_way() -> None:
    register = homes(*[("100", n) for n in range(1, 7)])
    ballots = {"owner:1": "甲", "owner:2": "甲", "owner:3": "甲", "owner:4": "甲", "owner:5": "乙"}
    result = tally("owners_ordinary", ["甲", "乙", "abstain"], register, ballots)
    assert [o.passed for o in result.options] == [True, False, False] and result.passed


def test_a_consultation_is_won_by_plurality_and_a_tie_wins_nothing() -> None:
    register = homes(*[("90", n) for n in range(1, 6)])
    result = tally("consultation", ["方案一", "方案二", "abstain"], register,
                   {"home:1": "方案一", "home:2": "方案二", "home:3": "方案二", "home:4": "abstain"})
    assert [o.passed for o in result.options] == [False, True, False] and result.passed
    tie = tally("consultation", list(PLAIN), register, {"home:1": "agree", "home:2": "oppose"})
    assert not tie.passed


def test_revocation_date_is_a_year_after_closing() -> None:
    from datetime import date
    assert revoke_by(date(2026, 12, 1)) == date(2027, 12, 1)
    assert revoke_by(date(2028, 2, 29)) == date(2029, 2, 28)


def brute_force(kind: str, choices: list[str], register: list[RegisterHome],
                ballots: dict[str, str]) -> dict[str, object]:
    """Recount home by home, by other means than the code under test."""
    def key(home: RegisterHome) -> str:
        if kind == "consultation":
            return f"home:{home.home_id}"
        return "developer" if home.unsold else f"owner:{home.owner_id}"

    people = {key(h) for h in register}
    area = {p: sum(h.area for h in register if key(h) == p) for p in people}
    voters = [p for p in people if ballots.get(p) in choices]
    voted_area = sum((area[p] for p in voters), Decimal(0))
    total = sum((h.area for h in register), Decimal(0))
    quorum = 3 * voted_area >= 2 * total and 3 * len(voters) >= 2 * len(people)
    result: dict[str, object] = {"heads": len(people), "voted": len(voters), "quorum": quorum}
    for c in choices:
        backers = [p for p in voters if ballots[p] == c]
        a, n = sum((area[p] for p in backers), Decimal(0)), len(backers)
        if kind == "owners_major":
            ok = 4 * a >= 3 * voted_area and 4 * n >= 3 * len(voters)
        else:
            ok = 2 * a > voted_area and 2 * n > len(voters)
        result[c] = (a, n, quorum and c != "abstain" and ok and len(voters) > 0)
    return result


@st.composite
def elections(draw: st.DrawFn) -> tuple[str, list[str], list[RegisterHome], dict[str, str]]:
    kind = draw(st.sampled_from(["owners_ordinary", "owners_major"]))
    choices = draw(st.sampled_from([list(PLAIN), ["甲", "乙", "丙", "abstain"]]))
    count = draw(st.integers(1, 40))
    register = [RegisterHome(i, Decimal(draw(st.integers(3000, 20000))) / 100,
                             owner := draw(st.one_of(st.none(), st.integers(1, 15))), owner is None)
                for i in range(count)]
    keys = sorted({"developer" if h.unsold else f"owner:{h.owner_id}" for h in register})
    voting = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    return kind, choices, register, {k: draw(st.sampled_from(choices)) for k in voting}


@settings(max_examples=300, deadline=None)
@given(elections())
def test_tally_equals_a_brute_force_recount(election) -> None:  # type: ignore[no-untyped-def]
    kind, choices, register, ballots = election
    result = tally(kind, choices, register, ballots)
    expected = brute_force(kind, choices, register, ballots)
    assert (result.eligible_heads, result.voted_heads, result.quorum_met) == \
        (expected["heads"], expected["voted"], expected["quorum"])
    for o in result.options:
        assert (o.area, o.heads, o.passed) == expected[o.option]
