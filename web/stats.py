"""/stats: the governance figures as charts."""
from __future__ import annotations

from web.pages import page_blueprint

bp = page_blueprint("stats", __name__)
