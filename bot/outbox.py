"""Outbound delivery.

A message is a row written in the same transaction as the change that causes it,
then delivered by a worker, one message at a time per sender: claimed (`sending`,
with a lease), sent, then marked `sent`. A worker that dies leaves at most the one
claimed message per sender; when its lease runs out it is sent again. That single
repeat is the only duplicate possible, since WeChat's API has no idempotency key.
Fan-outs (reminders, notices) use several senders side by side.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from sqlalchemy import Connection, Integer, String, bindparam, event, func, select, update
from sqlalchemy.orm import Session

from bot.wxapi import UNFOLLOWED, WINDOW_CLOSED, DeliveryError
from models import OutboxMessage, Resident, transaction
from models.db import INSERTS, Prepared, UTCDateTime, built_once

if TYPE_CHECKING:  # Services sends after its transactions commit (send_after_commit)
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
WINDOW = timedelta(hours=48)  # customer-service messages: within 48 h of the resident's message
PUSHES_PER_WINDOW = 5
GROUP_PER_MINUTE = 20
CUSTOMER_SERVICE = "wechat message/custom/send"
CLAIM_BATCH = 20  # claimed per commit by fan-out senders; still sent and settled one at a time
FAN_OUT_SENDERS = 16  # senders side by side when a commit queued more than a batch
# Senders in one process take turns at the database: SQLite's busy handler sleeps up to
# 100 ms when writers collide, which would turn parallel senders back into a queue.
_DB_TURN = threading.Lock()


class Deferred(Exception):
    """Not now (a rate limit): try again at `until`, without counting an attempt."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


class Held(Exception):
    """The resident cannot be reached until they write again."""


@dataclass
class Reach:
    """What decides how a resident can be reached, read when their message was claimed."""

    following: bool
    last_inbound_at: datetime | None
    pushes_since_inbound: int


@dataclass
class Claimed:
    """A message this worker holds, with its resident's reach (None: not a known resident).

    `message` is the row as the claim returned it: id, channel, recipient, kind, body,
    attempts (this try counted) and due_at, read like an OutboxMessage's attributes."""

    message: Any
    reach: Reach | None = None


Job = Callable[["Services", OutboxMessage], str]
# Work that is no message but needs the same discipline (a lease, retries with backoff, a
# crash repeats at most the one in flight): channel -> what does it, returning what it did.
JOBS: dict[str, Job] = {}


def job(channel: str) -> Callable[[Job], Job]:
    """Register the function that does an outbox row of this channel (bot/photos.py)."""
    def register(function: Job) -> Job:
        JOBS[channel] = function
        return function
    return register


@built_once
def _enqueue(dialect: str) -> Any:
    table, at = OutboxMessage.__table__, bindparam("now", type_=UTCDateTime())
    return (INSERTS[dialect](table).values(
        dedupe_key=bindparam("b_key"), channel=bindparam("b_channel"),
        recipient=bindparam("b_recipient"), kind=bindparam("b_kind"), body=bindparam("b_body"),
        status="pending", attempts=0, due_at=at, created_at=at,
        ticket_id=bindparam("b_ticket", type_=Integer()))
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id))


def enqueue(session: Session, *, key: str, channel: str, recipient: str, body: str,
            now: datetime, kind: str = "text", ticket_id: int | None = None) -> int | None:
    """Queue a message once per key; return its id, or None when that key was queued before.

    One statement: the insert skips a key already taken (and waits for a concurrent
    transaction that took it, as the unique key makes it)."""
    row = session.execute(_enqueue(session), _values(
        Message(key, channel, recipient, body, kind, ticket_id), now)).first()
    if row is None:
        return None
    session.info[QUEUED] = queued(session) + 1
    return row.id


@dataclass(frozen=True)
class Message:
    """One message to queue, as `enqueue` takes it."""

    key: str
    channel: str
    recipient: str
    body: str
    kind: str = "text"
    ticket_id: int | None = None


def enqueue_all(session: Session, messages: list[Message], now: datetime) -> int:
    """Queue several messages, each once per key, in one statement (a ticket's cards to its
    staff); return how many were new. They are queued, and so sent, in the order given."""
    if not messages:
        return 0
    new = len(session.execute(_enqueue(session), [_values(m, now) for m in messages]).all())
    session.info[QUEUED] = queued(session) + new
    return new


def _values(message: Message, now: datetime) -> dict[str, Any]:
    return {"b_key": message.key, "b_channel": message.channel, "b_recipient": message.recipient,
            "b_kind": message.kind, "b_body": message.body, "now": now, "b_ticket": message.ticket_id}


def retry(session: Session, ids: list[int] | None, now: datetime) -> list[OutboxMessage]:
    """Give failed messages (these, or every one) a fresh set of tries, due now."""
    query = select(OutboxMessage).where(OutboxMessage.status == "failed")
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(session.scalars(query))
    for m in rows:
        m.status, m.attempts, m.due_at = "pending", 0, now
    session.info[QUEUED] = queued(session) + len(rows)
    return rows


def release_held(session: Session, openid: str, now: datetime) -> int:
    """The resident wrote: what waited for them may go now."""
    released = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.channel == "wechat", OutboxMessage.recipient == openid,
               OutboxMessage.status == "held")
        .values(status="pending", due_at=now)).rowcount
    session.info[QUEUED] = queued(session) + released
    return released


QUEUED = "linli.outbox_queued"  # session.info: how many messages this session queued or released
SENDING = "linli.outbox_sending"  # session.info: the send started after this session committed


@event.listens_for(Session, "before_flush")
def _note_queued(session: Session, _context: object, _instances: object) -> None:
    new = sum(1 for o in session.new if isinstance(o, OutboxMessage))
    if new:
        session.info[QUEUED] = queued(session) + new


def queued(session: Session) -> int:
    """How many messages this session queued (or released), so a sender is worth waking."""
    return int(session.info.get(QUEUED, 0))


def send_after_commit(services: Services, session: Session) -> None:
    """Start sending what a committed session queued: the one place sending is triggered.

    More than a batch (a notice, a reminder) goes out through several senders side by side.
    """
    count = queued(session)
    if count:
        session.info[SENDING] = kick(services, FAN_OUT_SENDERS if count > CLAIM_BATCH else 1)


def sent_after_commit(session: Session) -> int:
    """Wait for the send started after the session committed; return how many messages went."""
    sending: Future[int] | None = session.info.get(SENDING)
    return sending.result() if sending is not None else 0


def kick(services: Services, senders: int = 1) -> Future[int]:
    """Deliver what is due, in this process's sender thread, without waiting.

    A kick for one sender that is queued and not started yet is not queued twice: when it
    starts, it finds what was committed before this call too. (Busy, the bot commits messages
    faster than it sends them: every kick then ended in a claim that found nothing.)"""
    if senders > 1:
        return services.sender.submit(_deliver_logged, services, senders)
    with services.kick_lock:
        waiting = services.kicked
        if waiting is not None and not waiting.running() and not waiting.done():
            return waiting
        services.kicked = services.sender.submit(_deliver_logged, services, 1)
        return services.kicked


def _deliver_logged(services: Services, senders: int = 1) -> int:
    try:  # stale claims are recovered by the scheduler's outbox job, not on every kick
        return deliver_due(services, senders=senders, recover=False)
    except Exception:  # the next kick or sweep tries again; nothing is lost
        log.exception("outbox delivery stopped")
        return 0


def deliver_due(services: Services, limit: int | None = None, senders: int = 1,
                recover: bool = True) -> int:
    """Send queued messages whose time has come; return how many went.

    With `senders` above one, that many threads send side by side, each with at most
    one message claimed at a time, so a worker that dies repeats at most one per sender.
    """
    if recover:
        recover_stale(services)
    if senders <= 1:  # the everyday path: one message claimed at a time
        return _send_loop(services, limit, batch=1)
    share = None if limit is None else -(-limit // senders)
    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="outbox-fan") as pool:
        return sum(pool.map(lambda _n: _send_loop_logged(services, share), range(senders)))


def _send_loop(services: Services, limit: int | None, batch: int = CLAIM_BATCH) -> int:
    """Claim a few due messages at once, then send and settle them one after another.

    Claiming several in one commit is safe: a claimed message that was never sent goes
    back to the queue when its lease runs out, so only the one actually in flight can
    be sent twice. Unsent claims are handed back well before the lease could run out.
    The last message of a claim is settled in the same commit as the next claim: one
    commit a message on the everyday path (a claim of one), not two, and still never
    more than one message sent and not recorded.
    """
    sent = handled = 0
    more, outcome = True, None
    while more and (limit is None or handled < limit):
        taken, more = _claim_batch(services, batch if limit is None else min(batch, limit - handled),
                                   settle=outcome)
        outcome = None
        claimed = time.monotonic()
        for index, held in enumerate(taken):
            if time.monotonic() - claimed > LEASE.total_seconds() / 3:
                _release(services, [h.message for h in taken[index:]])
                more = True  # handed back: due again at once
                break
            if outcome is not None:
                _settle(services, outcome)
            handled += 1
            outcome = _send(services, held)
            sent += outcome.sent
        if outcome is not None and not (more and (limit is None or handled < limit)):
            _settle(services, outcome)  # no claim follows to carry it
            outcome = None
    return sent


def _send_loop_logged(services: Services, limit: int | None) -> int:
    try:
        return _send_loop(services, limit)
    except Exception:  # the other senders go on; what this one held is recovered by its lease
        log.exception("outbox sender stopped")
        return 0


def recover_stale(services: Services) -> int:
    """Put back messages whose worker died while sending them (their lease ran out)."""
    now = services.clock()
    with transaction(services.sessions) as session:
        return session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - LEASE)
            .values(status="pending", due_at=now)).rowcount


# The sender's statements, built once: every staff card and reply that goes out is claimed and
# settled with them, their values given as parameters.
_OUTBOX, _RESIDENT = OutboxMessage.__table__, Resident.__table__
_IDS = bindparam("ids", expanding=True)
_NOW = bindparam("now", type_=UTCDateTime())
_DUE = Prepared(select(_OUTBOX.c.id)
                .where(_OUTBOX.c.status == "pending", _OUTBOX.c.due_at <= _NOW)
                .order_by(_OUTBOX.c.due_at, _OUTBOX.c.id).limit(bindparam("size", type_=Integer()))
                .with_for_update(skip_locked=True))
# The recipient's reach, when the message goes to a resident on WeChat (NULL otherwise).
_REACH = tuple(
    select(column).where(_OUTBOX.c.channel == "wechat", _RESIDENT.c.openid == _OUTBOX.c.recipient)
    .scalar_subquery().label(column.key)
    for column in (_RESIDENT.c.following, _RESIDENT.c.last_inbound_at,
                   _RESIDENT.c.pushes_since_inbound))

def _taking(which: Any) -> Any:
    """Taken, with what sending needs, in one statement (plain rows: the sender only reads them)."""
    return (update(_OUTBOX)
            .where(which, _OUTBOX.c.status == "pending")
            .values(status="sending", claimed_at=_NOW, attempts=_OUTBOX.c.attempts + 1)
            .returning(_OUTBOX.c.id, _OUTBOX.c.channel, _OUTBOX.c.recipient, _OUTBOX.c.kind,
                       _OUTBOX.c.body, _OUTBOX.c.attempts, _OUTBOX.c.due_at, *_REACH))


# A batch's ids are written into the statement at each execution (an expanding IN); the
# sender takes one message at a time, by a plain parameter.
_TAKE_ONE = Prepared(_taking(_OUTBOX.c.id == bindparam("b_id", type_=Integer())))
_TAKE_SOME = _taking(_OUTBOX.c.id.in_(_IDS))
# A message's outcome, one statement for each set of columns an outcome sets.
_SETTLES: dict[tuple[str, ...], Prepared] = {}
_PUSHED = (update(_RESIDENT).where(_RESIDENT.c.openid == bindparam("b_openid"))
           .values(pushes_since_inbound=_RESIDENT.c.pushes_since_inbound + 1))
_UNFOLLOWED = (update(_RESIDENT).where(_RESIDENT.c.openid == bindparam("b_openid"))
               .values(following=False))


def _claim_batch(services: Services, size: int,
                 settle: Outcome | None = None) -> tuple[list[Claimed], bool]:
    """Take the oldest due messages for this worker alone (rows others hold are skipped),
    with what decides how each resident among their recipients can be reached; and whether
    more were due (one more is looked at, not taken), so a sender that emptied the queue
    does not ask again. What becomes due later is another commit's kick, or the outbox job's.
    `settle`, the outcome of the message sent last, is recorded in the same commit, first."""
    now = services.clock()
    with _DB_TURN, services.engine.begin() as connection:
        if settle is not None:
            _record(connection, settle)
        due = [row.id for row in _DUE.execute(connection, {"now": now, "size": size + 1})]
        ids, more = due[:size], len(due) > size
        if not ids:
            return [], False
        rows = (_TAKE_ONE.execute(connection, {"b_id": ids[0], "now": now}) if len(ids) == 1
                else connection.execute(_TAKE_SOME, {"ids": ids, "now": now}).all())
        reaches: dict[str, Reach] = {}  # one per resident, so pushes counted here add up
        return [Claimed(row, None if row.following is None else reaches.setdefault(
                    row.recipient, Reach(row.following, row.last_inbound_at, row.pushes_since_inbound)))
                for row in sorted(rows, key=lambda row: (row.due_at, row.id))], more


def _release(services: Services, messages: list[OutboxMessage]) -> None:
    """Hand back claimed messages that were not sent: they are due again at once."""
    with _DB_TURN, transaction(services.sessions) as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id.in_([m.id for m in messages]),
                               OutboxMessage.status == "sending")
                        .values(status="pending", attempts=OutboxMessage.attempts - 1))


@dataclass
class Outcome:
    """How a send went, to be recorded: the outbox row's new values (`values`), and the
    resident a customer-service push counts against (`pushed_to`) or who is gone (`unfollowed`)."""

    message_id: int
    values: dict[str, object]
    sent: bool = False
    pushed_to: str | None = None
    unfollowed: str | None = None


def _send(services: Services, held: Claimed) -> Outcome:
    """Send one claimed message; return its outcome, which the caller records."""
    message, now = held.message, services.clock()
    try:
        via = _dispatch(services, held, now)
    except Deferred as wait:
        return Outcome(message.id, {"status": "pending", "due_at": wait.until,
                                    "attempts": message.attempts - 1})
    except Held:
        return Outcome(message.id, {"status": "held", "last_error": "waiting for the resident to write"})
    except Exception as err:  # noqa: BLE001 - anything else still counts towards MAX_ATTEMPTS
        if not isinstance(err, DeliveryError):
            err = DeliveryError(f"unexpected {type(err).__name__}")  # its text may hold secrets
        give_up = err.permanent or message.attempts >= MAX_ATTEMPTS
        backoff = timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600))
        log.warning("outbox #%s (%s) failed: %s%s", message.id, message.channel, err,
                    "; giving up" if give_up else "")
        # A resident who blocked or left the account is recorded as gone, so no later
        # fan-out queues them again until they follow anew.
        gone = message.recipient if message.channel == "wechat" and err.code in UNFOLLOWED else None
        return Outcome(message.id, {"status": "failed" if give_up else "pending",
                                    "due_at": now + backoff, "last_error": str(err)}, unfollowed=gone)
    pushed = via == CUSTOMER_SERVICE
    if pushed and held.reach is not None:
        held.reach.pushes_since_inbound += 1
    return Outcome(message.id, {"status": "sent", "sent_at": now, "via": via, "last_error": None},
                   sent=True, pushed_to=message.recipient if pushed else None)


def _settle(services: Services, outcome: Outcome) -> None:
    """Record an outcome in one short commit of its own."""
    with _DB_TURN, services.engine.begin() as connection:
        _record(connection, outcome)


def _record(connection: Connection, outcome: Outcome) -> None:
    """Write an outcome; a customer-service push also counts towards the resident's five
    pushes per window, in the same commit."""
    columns = tuple(outcome.values)
    settle = _SETTLES.get(columns)
    if settle is None:
        settle = _SETTLES.setdefault(columns, Prepared(
            update(_OUTBOX).where(_OUTBOX.c.id == bindparam("message_id"))
            .values({name: bindparam(f"v_{name}", type_=_OUTBOX.c[name].type) for name in columns})))
    settle.execute(connection, {"message_id": outcome.message_id,
                                **{f"v_{name}": value for name, value in outcome.values.items()}})
    if outcome.pushed_to is not None:
        connection.execute(_PUSHED, {"b_openid": outcome.pushed_to})
    if outcome.unfollowed is not None:
        connection.execute(_UNFOLLOWED, {"b_openid": outcome.unfollowed})


def _dispatch(services: Services, held: Claimed, now: datetime) -> str:
    """Send through the channel's API; return which API took it."""
    message = held.message
    if message.channel == "wechat":
        return _to_resident(services, message, held.reach, now)
    if message.channel == "wecom_app":
        services.wecom.send_app(message.recipient, message.body)
        return "wecom message/send"
    if message.channel == "wecom_group":
        return _to_group(services, message, now)
    if message.channel == "wecom_response":
        _check_response_host(services, message.recipient)
        services.wecom.send_response(message.recipient, message.body)
        return "smart robot response_url"
    if message.channel in JOBS:
        return JOBS[message.channel](services, message)
    raise DeliveryError(f"unknown channel {message.channel}", permanent=True)


def _check_response_host(services: Services, url: str) -> None:
    """Post late replies only to WeCom's own host: a response_url came from outside."""
    base = services.config.wecom.api_base_url
    if urlsplit(url).netloc != urlsplit(base).netloc:
        raise DeliveryError("response_url is not on the WeCom API host", permanent=True)


def _to_resident(services: Services, message: OutboxMessage, resident: Reach | None,
                 now: datetime) -> str:
    """Customer-service message while the window is open, else a template, else hold."""
    if resident is not None and not resident.following:
        raise DeliveryError("the resident no longer follows the account", permanent=True)
    window_open = (resident is not None and resident.last_inbound_at is not None
                   and resident.last_inbound_at > now - WINDOW
                   and resident.pushes_since_inbound < PUSHES_PER_WINDOW)
    if window_open:
        try:
            services.wechat.send_text(message.recipient, message.body)
        except DeliveryError as err:
            if err.code not in WINDOW_CLOSED:
                raise
        else:
            return CUSTOMER_SERVICE
    # a message kind named like a template ([wechat.templates]) may go as that template
    template = services.config.wechat.templates.get(message.kind)
    if template:
        services.wechat.send_template(message.recipient, template,
                                      {"content": {"value": message.body}})
        return "wechat message/template/send"
    raise Held()


def _to_group(services: Services, message: OutboxMessage, now: datetime) -> str:
    """Post to a group robot, at most 20 messages a minute per group.

    When the last minute holds 20, the group's whole queue waits, in one statement, until the
    oldest of them leaves the minute: a flood of urgent reports (a power cut) queues hundreds,
    and putting each back by itself claimed every one of them again every few seconds."""
    url = services.config.wecom.group_webhooks.get(message.recipient)
    if not url:
        raise DeliveryError(f"no group robot configured for {message.recipient}", permanent=True)
    with _DB_TURN, services.engine.connect() as connection:  # rolled back unless it waits
        recent, oldest = connection.execute(
            _GROUP_RECENT, {"group": message.recipient, "since": now - timedelta(minutes=1)}).one()
        if recent >= GROUP_PER_MINUTE:
            until = max(oldest + timedelta(minutes=1), now + timedelta(seconds=1))
            connection.execute(_GROUP_WAITS, {"group": message.recipient, "until": until})
            connection.commit()
            raise Deferred(until)
    services.wecom.send_group(url, message.body)
    return "wecom group robot webhook/send"


_GROUP = bindparam("group", type_=String())
_UNTIL = bindparam("until", type_=UTCDateTime())
# A group robot's sends in the last minute, and the oldest of them.
_GROUP_RECENT = (select(func.count(), func.min(_OUTBOX.c.sent_at))
                 .where(_OUTBOX.c.channel == "wecom_group", _OUTBOX.c.recipient == _GROUP,
                        _OUTBOX.c.status == "sent",
                        _OUTBOX.c.sent_at > bindparam("since", type_=UTCDateTime())))
# The rest of its queue waits for the minute to free a place.
_GROUP_WAITS = (update(_OUTBOX)
                .where(_OUTBOX.c.channel == "wecom_group", _OUTBOX.c.recipient == _GROUP,
                       _OUTBOX.c.status == "pending", _OUTBOX.c.due_at < _UNTIL)
                .values(due_at=_UNTIL))
