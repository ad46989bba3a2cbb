"""What the bot needs at run time, built once per app and handed down explicitly."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterator
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.storage import Store
from bot.wxapi import WeChatApi, WeComApi
from models import transaction
from settings import Settings

if TYPE_CHECKING:
    from bot.ratelimit import Limiter
    from bot.spool import Drainer

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """Config, database, clock and API client for one app."""

    config: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    wechat: WeChatApi
    wecom: WeComApi
    store: Store  # where residents' photos are kept ([storage])
    clock: Clock = utc_now
    reply_deadline: float = 4.0  # seconds before WeChat's 5 s limit
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="linli"))
    # one sender per process: outbound messages leave one at a time, in order
    sender: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox"))
    spool: Drainer | None = None  # messages kept on disk while the database is down
    limiter: Limiter | None = None  # rate limits per sender ([ratelimit])
    # the sender's next run, while it is queued and not started (bot/outbox.py `kick`)
    kicked: Future[int] | None = field(default=None, repr=False)
    kick_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        """Return the estate's time zone (Asia/Shanghai by default)."""
        return self.config.scheduler.tz

    def local(self, moment: datetime) -> datetime:
        """Return a moment in the estate's time zone."""
        return moment.astimezone(self.tz)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work commits together; what it queued goes out right after.

        The messages it wrote to the outbox are handed to this process's sender once the
        commit has made them visible (outbox.send_after_commit), never before, and not if
        the work is rolled back. Scheduled sweeps use models.transaction instead and leave
        their messages to the outbox job.
        """
        with transaction(self.sessions) as session:
            yield session
        outbox.send_after_commit(self, session)

    def close(self) -> None:
        """Finish the work in hand and release the database."""
        if self.spool is not None:
            self.spool.close()
        self.executor.shutdown(wait=True)
        self.sender.shutdown(wait=True)
        self.engine.dispose()


def current() -> Services:
    """Return the running app's services (inside a request or an app context)."""
    return current_app.extensions["linli"]
