"""邻里通 intent engine: normalise a resident's message and read its intent and slots."""
from intents.engine import Engine, Parse, parse, parse_as, read_ahead

__all__ = ["Engine", "Parse", "parse", "parse_as", "read_ahead"]
