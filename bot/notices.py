"""Notices and reminders to everyone: one outbox message per subscribed resident and per group
robot, once per key, however often it is queued; the operator's report of who is owed one."""
from __future__ import annotations

import hashlib
from datetime import datetime

from typing import Collection

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.replies.market import NOTICE
from bot.services import Services
from models import Building, Home, OutboxMessage, Resident, Unit


def send_notice(services: Services, session: Session, text: str, *, key: str,
                now: datetime, estates: Collection[int] | None = None) -> tuple[int, int]:
    """Queue a notice to every subscriber (of the estates, when named) and group once per key;
    return (residents, groups)."""
    body = NOTICE.format(text=text)
    before = _queued(session, f"notice:{key}:")
    fan_out(services, session, f"notice:{key}", body, now=now, kind="market_reminder", groups=None,
            estates=estates)
    after = _queued(session, f"notice:{key}:")
    return after[0] - before[0], after[1] - before[1]


def notice_key(text: str, now: datetime) -> str:
    """The same words sent the same day are one notice."""
    return f"{now:%Y%m%d}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"


def fan_out(services: Services, session: Session, prefix: str, body: str, *, now: datetime,
            kind: str, groups: tuple[str, ...] | None, estates: Collection[int] | None = None) -> int:
    """Queue `body` once per subscribed, following resident (of the estates, when named: by their
    home, else the estate they named) and per group; return how many are new."""
    taken = set(session.scalars(select(OutboxMessage.dedupe_key)
                                .where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))))
    configured = services.config.wecom.group_webhooks
    query = select(Resident.id, Resident.openid).where(Resident.subscribed.is_(True),
                                                       Resident.following.is_(True))
    if estates is not None:
        homes = select(Home.id).join(Unit, Unit.id == Home.unit_id).join(
            Building, Building.id == Unit.building_id).where(Building.estate_id.in_(list(estates)))
        query = query.where(or_(Resident.home_id.in_(homes),
                                and_(Resident.home_id.is_(None), Resident.estate_id.in_(list(estates)))))
    targets = [(f"{prefix}:resident:{rid}", "wechat", openid, kind)
               for rid, openid in session.execute(query.order_by(Resident.id))]
    targets += [(f"{prefix}:group:{name}", "wecom_group", name, "markdown")
                for name in (groups if groups is not None else tuple(configured)) if name in configured]
    new = [OutboxMessage(dedupe_key=key, channel=channel, recipient=recipient, kind=how, body=body,
                         status="pending", attempts=0, due_at=now, created_at=now)
           for key, channel, recipient, how in targets if key not in taken]
    session.add_all(new)
    session.flush()
    return len(new)


def _queued(session: Session, prefix: str) -> tuple[int, int]:
    rows = session.scalars(select(OutboxMessage.channel)
                           .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))).all()
    return sum(1 for c in rows if c == "wechat"), sum(1 for c in rows if c == "wecom_group")


def fan_out_report(services: Services, prefix: str) -> str:
    """Who was skipped and who is still owed the message, for the operator."""
    with services.sessions() as session:
        skipped = session.scalar(select(func.count()).select_from(Resident).where(
            ~(Resident.subscribed.is_(True) & Resident.following.is_(True))))
        rows = session.execute(select(OutboxMessage.status, func.count())
                               .where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))
                               .group_by(OutboxMessage.status)).all()
    by_status = dict(rows)
    return (f"{skipped} resident(s) skipped (not subscribed, blocked or unfollowed); "
            f"{by_status.get('pending', 0) + by_status.get('sending', 0)} being retried, "
            f"{by_status.get('failed', 0)} failed (flask outbox list --failed)")
