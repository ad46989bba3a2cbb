"""/sim: a chat simulator that drives the real dialogue."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sim", __name__)
