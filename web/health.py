"""`/healthz`: is the server up, and can it reach its database?"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when the database answers, else 503."""
    try:
        with current_app.extensions["linli"].engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        log.warning("health check: database unreachable (%s)", type(err).__name__)
        return jsonify(status="unavailable", db="unreachable"), 503
    return jsonify(status="ok", db="ok")
