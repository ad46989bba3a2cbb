"""The second baseline: WeRoBot's hello-world as its README ships it, served by gunicorn.

WeRoBot keeps a session per sender in its default storage (SQLite, `werobot_session.sqlite3`
in the working directory); nothing is changed. Served as `bench.werobot_app:application`.
"""
from __future__ import annotations

import os

import werobot

robot = werobot.WeRoBot(token=os.environ.get("BENCH_WECHAT_TOKEN", "linli-demo-token"))


@robot.handler
def hello(message: object) -> str:
    """Answer every message."""
    return "Hello World!"


application = robot.wsgi
