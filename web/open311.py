"""Open311 GeoReport v2 under /open311/v2/."""
from __future__ import annotations

from web.pages import page_blueprint

bp = page_blueprint("open311", __name__)
