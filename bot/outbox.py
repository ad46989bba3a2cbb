"""Outbound delivery: a message is written to the outbox in the same transaction as
the change that caused it, then sent; failures stay queued and are retried."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import Services
from bot.wxapi import DeliveryError
from models import OutboxMessage, transaction

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def enqueue(session: Session, *, key: str, recipient: str, body: str, now: datetime,
            channel: str = "wechat", kind: str = "text") -> OutboxMessage | None:
    """Queue a message once per key; return it, or None when the key was queued before."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return None
    message = OutboxMessage(dedupe_key=key, channel=channel, recipient=recipient, kind=kind,
                            body=body, status="pending", attempts=0, due_at=now, created_at=now)
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


def deliver(services: Services, message_id: int) -> bool:
    """Try to send one queued message now; return whether it went out."""
    now = services.clock()
    with transaction(services.sessions) as session:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .values(status="sending", attempts=OutboxMessage.attempts + 1)
        ).rowcount
        message = session.get(OutboxMessage, message_id)
    if not claimed or message is None:
        return False
    try:
        services.wechat.send_text(message.recipient, message.body)
    except DeliveryError as err:
        _failed(services, message, str(err), err.permanent, now)
        return False
    with transaction(services.sessions) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                        .values(status="sent", sent_at=now, last_error=None))
    return True


def _failed(services: Services, message: OutboxMessage, reason: str, permanent: bool,
            now: datetime) -> None:
    give_up = permanent or message.attempts >= MAX_ATTEMPTS
    backoff = timedelta(seconds=30 * 2 ** min(message.attempts, 8))
    log.warning("outbox %s to %s failed (%s)%s", message.id, message.channel, reason,
                "; giving up" if give_up else "")
    with transaction(services.sessions) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
            status="failed" if give_up else "pending", last_error=reason, due_at=now + backoff))


def deliver_due(services: Services, limit: int = 100) -> int:
    """Send every queued message whose time has come; return how many went out."""
    now = services.clock()
    with services.sessions() as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.id).limit(limit)).all()
    return sum(deliver(services, message_id) for message_id in ids)
