"""Inbound messages: the retry rule (one key, one handling, one reply) and the 4-second deadline.

WeChat resends a message it got no answer for within 5 s, up to three times. The
first arrival inserts a row under the message's dedupe key (unique in the
database, so it holds across processes) and is handled; any later arrival finds
the row and gets the stored reply. When handling takes longer than the deadline,
the request answers "success" and the reply goes out afterwards as a push.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot import outbox
from bot.services import Services
from models import InboundMessage, transaction

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
# A row still "processing" this long after it arrived was left by a handler that died:
# its transaction rolled back, so handling it again cannot double anything.
STALE = timedelta(seconds=60)


@dataclass(frozen=True)
class Inbound:
    """A parsed message from any channel, before the dialogue sees it."""

    channel: str
    sender: str
    kind: str  # text, voice, image, location, event, unknown
    key: str  # dedupe key
    text: str | None = None
    media_id: str | None = None
    pic_url: str | None = None
    label: str | None = None  # a location's address
    latitude: str | None = None
    longitude: str | None = None
    event: str | None = None
    chat_id: str | None = None  # a staff group chat (WeCom smart robot)
    response_url: str | None = None  # where a late answer to a group chat goes


@dataclass
class Job:
    """Hand-over between the request thread and the worker for one message."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    deferred: bool = False  # the request gave up waiting: the worker must push the reply
    decided: bool = False  # the worker chose how the reply goes out


# The dialogue: given the session and the message, produce the reply text.
Responder = Callable[[Services, Session, Inbound], str]


def receive(services: Services, inbound: Inbound, respond: Responder) -> str | None:
    """Handle a message once however often it arrives; return the passive reply or None."""
    row_id = _claim(services, inbound)
    if row_id is None:
        return _stored_reply(services, inbound.key)
    job = Job()
    future = services.executor.submit(_work, services, inbound, row_id, job, respond)
    try:
        return future.result(timeout=services.reply_deadline)
    except FutureTimeout:
        with job.lock:
            if not job.decided:
                job.deferred = True
                log.info("message %s is slow; its reply will be pushed", row_id)
                return None
        return future.result()


def _claim(services: Services, inbound: Inbound) -> int | None:
    """Insert the message under its key; None when another arrival has it in hand or done."""
    now = services.clock()
    row = InboundMessage(channel=inbound.channel, dedupe_key=inbound.key, sender=inbound.sender,
                         msg_type=inbound.event or inbound.kind, content=inbound.text,
                         received_at=now, status="processing")
    try:
        with transaction(services.sessions) as session:
            session.add(row)
        return row.id
    except IntegrityError:
        pass
    with transaction(services.sessions) as session:  # a failed or abandoned first try: take it over
        taken = session.execute(
            update(InboundMessage)
            .where(InboundMessage.dedupe_key == inbound.key,
                   or_(InboundMessage.status == "failed",
                       and_(InboundMessage.status == "processing",
                            InboundMessage.received_at < now - STALE)))
            .values(status="processing", received_at=now)).rowcount
        if not taken:
            return None
        return session.scalar(select(InboundMessage.id).where(InboundMessage.dedupe_key == inbound.key))


def _work(services: Services, inbound: Inbound, row_id: int, job: Job,
          respond: Responder) -> str:
    """Handle the message, or mark it failed so that WeChat's next retry handles it again."""
    try:
        return _handle(services, inbound, row_id, job, respond)
    except Exception:
        log.exception("message %s could not be handled; a retry will take it over", row_id)
        try:
            with transaction(services.sessions) as session:
                session.execute(update(InboundMessage).where(InboundMessage.id == row_id)
                                .values(status="failed"))
        except SQLAlchemyError:
            log.warning("message %s stays processing until it is stale", row_id)
        raise


def _handle(services: Services, inbound: Inbound, row_id: int, job: Job,
            respond: Responder) -> str:
    """Handle the message and store its reply in one transaction; push it if nobody waits."""
    with transaction(services.sessions) as session:
        reply = respond(services, session, inbound)
        with job.lock:
            job.decided = True
            via = "push" if job.deferred else "passive"
        if via == "push" and reply:
            channel, recipient = _late_route(inbound)
            outbox.enqueue(session, key=f"reply:{inbound.key}", channel=channel,
                           recipient=recipient, body=reply, now=services.clock())
        row = session.get(InboundMessage, row_id)
        row.status, row.reply, row.reply_via = "done", reply, via
        row.finished_at = services.clock()
    outbox.kick(services)  # whatever the handler queued goes out now, after the commit
    return reply


def _late_route(inbound: Inbound) -> tuple[str, str]:
    """Return the outbox channel and recipient for a reply that missed its request."""
    if inbound.channel == "wecom_bot" and inbound.response_url:
        return "wecom_response", inbound.response_url
    if inbound.channel in ("wecom", "wecom_bot"):
        return "wecom_app", inbound.sender
    return "wechat", inbound.sender


def _stored_reply(services: Services, key: str) -> str | None:
    """Wait briefly for the first arrival's reply; None if it is not ready (or was pushed)."""
    deadline = time.monotonic() + services.reply_deadline
    while True:
        with services.sessions() as session:
            row = session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))
        if row is not None and row.status == "done":
            return row.reply if row.reply_via == "passive" else None
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
