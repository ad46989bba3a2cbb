"""/sim: a chat simulator that drives the real dialogue."""
from __future__ import annotations

from web.pages import page_blueprint

bp = page_blueprint("sim", __name__)
