"""The WeCom channels: `/wecom` (the app) and `/wecom/bot` (the smart robot in staff groups)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wecom", __name__)
