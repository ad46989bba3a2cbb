"""`/healthz`: 200 with a working database, 503 without one."""
from __future__ import annotations

import requests

from app import create_app
from tests.conftest import EXAMPLE
from tests.fakes import Served


def test_healthy(server: str) -> None:
    response = requests.get(f"{server}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok"}


def test_database_unreachable_is_503() -> None:
    app = create_app({"config_path": str(EXAMPLE), "overrides": {
        "database.url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}})
    served = Served(app)
    try:
        response = requests.get(f"{served.url}/healthz", timeout=10)
        assert response.status_code == 503
        assert response.json()["db"] == "unreachable"
    finally:
        served.close()
