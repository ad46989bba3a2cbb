"""The category table (models/categories.py): every category the engine gives, the board lists
and Open311 serves is one of its rows, under the contract's codes."""
from __future__ import annotations

import json
from pathlib import Path

from intents import Engine
from models.categories import BY_CODE, CATEGORIES, CATEGORY_NAMES, CODES, SUGGESTION, category_name

BLIND_SETS = [Path(__file__).resolve().parent.parent / "intents" / "data" / "corpus" / name
              for name in ("blind1.jsonl", "blind2.jsonl")]
CONTRACT = ("elevator", "fire_safety", "security", "sanitation", "greenery", "lighting", "water",
            "facilities", "parking", "noise", "illegal_construction", "property_service",
            "neighbor_dispute", "assistance", "other")  # CONTRACT.md, "Report categories"


def test_the_table_holds_the_contracts_codes_in_its_order() -> None:
    assert CODES == CONTRACT
    assert all(c.name and c.group and c.keywords for c in (*CATEGORIES, SUGGESTION))
    assert SUGGESTION.code not in CODES and BY_CODE[SUGGESTION.code] is SUGGESTION
    assert category_name(None) == category_name("no-such-code") == CATEGORY_NAMES["other"] == "其他"


def test_every_category_the_engine_gives_is_in_the_table(engine: Engine) -> None:
    given = set()
    for path in BLIND_SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                given.add(engine.parse(json.loads(line)["text"]).category)
    assert given - {None} <= set(CODES)
    assert len(given - {None}) >= 10  # the sets reach most categories, so the check means something
