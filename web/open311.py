"""Open311 GeoReport v2 under /open311/v2/."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("open311", __name__)
