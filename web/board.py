"""/board and /board.json: the public list of every ticket (清单化公示)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("board", __name__)
