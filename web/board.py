"""/board and /board.json: the public list of every ticket (清单化公示)."""
from __future__ import annotations

from web.pages import page_blueprint

bp = page_blueprint("board", __name__)
