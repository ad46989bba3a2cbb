"""Find homes (building, unit, room) and places in a message."""
from __future__ import annotations

import re

from intents.firstchars import ANY_DIGIT
from intents.lexicon import Lexicon

Home = tuple[str | None, str | None, str | None]


def _first(hits: list[tuple[int, str]]) -> str | None:
    """Return the value that appears first, as a plain digit string."""
    return str(int(min(hits)[1])) if hits else None


def _groups(match: re.Match[str]) -> str:
    """Return the first non-empty group of a match."""
    return next(g for g in match.groups() if g)


def home_in(norm: str, lex: Lexicon) -> Home:
    """Read building, unit and room from normalised text; each slot takes its first value."""
    if lex.homes_need_digit and ANY_DIGIT.search(norm) is None:
        return None, None, None
    pats = lex.homes
    buildings = [(m.start(), m.group(1)) for m in pats["building"].finditer(norm)]
    units = [(m.start(), m.group(1)) for m in pats["unit"].finditer(norm)]
    rooms = [(m.start(1), m.group(1)) for m in pats["room_after"].finditer(norm)]
    rooms += [(m.start(), _groups(m)) for m in pats["room_marked"].finditer(norm)]
    for m in pats["triple"].finditer(norm):
        buildings.append((m.start(1), m.group(1)))
        units.append((m.start(2), m.group(2)))
        rooms.append((m.start(3), m.group(3)))
    for m in pats["pair"].finditer(norm):
        buildings.append((m.start(1), m.group(1)))
        units.append((m.start(2), m.group(2)))
    return _first(buildings), _first(units), _first(rooms)


def place_in(norm: str, home: Home, lex: Lexicon) -> str | None:
    """Compose a short place phrase: building and unit, then the first place noun.

    Parts that every building has (电梯, 楼道) locate nothing without a building or unit.
    """
    building, unit, _room = home
    prefix = (f"{building}栋" if building else "") + (f"{unit}单元" if unit else "")
    nouns = lex.building_place_re if prefix else lex.estate_place_re
    noun = nouns.search(norm)
    phrase = prefix + (noun.group() if noun else "")
    return phrase or None


def find_home(text: str) -> Home:
    """Return (building, unit, room) as digit strings, or None where absent."""
    from intents.engine import default_engine  # the engine imports this module
    engine = default_engine()
    return home_in(engine.normalise(text), engine.lexicon)


def find_place(text: str) -> str | None:
    """Return a short place phrase for text ("3栋电梯", "地下车库"), or None."""
    from intents.engine import default_engine
    engine = default_engine()
    norm = engine.normalise(text)
    return place_in(norm, home_in(norm, engine.lexicon), engine.lexicon)
