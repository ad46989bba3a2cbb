"""Inbound messages: the retry rule (one key, one handling, one reply) and the 4-second deadline.

WeChat resends a message it got no answer for within 5 s, up to three times. The
first arrival inserts a row under the message's dedupe key (unique in the
database, so it holds across processes) and is handled in the same transaction;
a later arrival's insert waits for that transaction and then finds the row and
gets the stored reply. A handler that dies leaves nothing committed, so the next
retry handles the message. When handling takes longer than the deadline, the
request answers "success" and the reply goes out afterwards as a push.

When the database is down (or does not answer within CLAIM_TIMEOUT), the message is
kept in the local spool (bot/spool.py), the request answers "success", and a drainer
replays it under its own dedupe key once the database is back; the reply is pushed.
A flooding resident is refused before anything is stored (bot/ratelimit.py), and so is a
signed request whose nonce was already used for another message (a replayed signature:
bot/channels/replay.py); the channel answers that one 403.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

import intents
from bot import outbox
from bot.ratelimit import ALLOWED, SILENT, Verdict
from bot.replies.general import RATE_LIMITED, TOO_LONG
from bot.services import Services
from bot.spool import Outage, SpoolFull
from bot.turn import stamp_and_take
from models import InboundMessage, transaction
from models.messages import Claimed, Replayed, claim_message, finish_message, release_claim
from models.ratelimit import bucket_key

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters; a message longer than this is not a chat message
POLL_SECONDS = 0.1
# Rows are committed "done", or "failed" by a handler that caught its own error (the
# next retry takes it over at once); a "processing" row, committed only by older
# versions, is taken over once it is this old.
STALE = timedelta(seconds=60)
# How long a request waits for the database to take a message before keeping it in the
# spool instead: WeChat gives 5 s, and a locked SQLite file or a dead PostgreSQL host
# could otherwise hold the request for the whole busy or connect timeout.
CLAIM_TIMEOUT = 3.0
KEEP_DELAY = 1.0  # seconds before a freshly kept message is first replayed
LIMITED_CHANNELS = frozenset({"wechat"})  # residents; staff on WeCom are never slowed


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
    # a signed request's nonce, and when its timestamp leaves the window
    nonce: str | None = None
    nonce_expires: float | None = None  # epoch seconds


INBOUND_FIELDS = tuple(item.name for item in fields(Inbound))
STAFF_CHANNELS = frozenset({"wecom", "wecom_bot"})  # staff speak the chat grammar there


@dataclass
class Job:
    """Hand-over between the request thread and the worker for one message."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    admitted: threading.Event = field(default_factory=threading.Event)  # the claim is settled
    claim: Claim | None = None
    failure: BaseException | None = None  # the claim's error
    deferred: bool = False  # the request gave up waiting: the worker must push the reply
    decided: bool = False  # the worker chose how the reply goes out


@dataclass(frozen=True)
class Claim:
    """The outcome of admitting a message: ours to handle (row_id), someone else's, or refused."""

    row_id: int | None = None
    verdict: Verdict = ALLOWED
    replayed: bool = False  # the nonce was used before for another message
    stored: Claimed | None = None  # someone else's row (a retry): its status and reply


class Apology(Exception):
    """The dialogue failed unexpectedly: roll its work back and answer with this text alone."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class Unavailable(Exception):
    """The database is down and the spool is full: the message cannot be taken now."""


# The dialogue: given the session and the message, produce the reply text.
Responder = Callable[[Services, Session, Inbound], str]


def is_outage(err: BaseException) -> bool:
    """Tell whether a database error means the database cannot be reached (or is locked)."""
    if isinstance(err, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def receive(services: Services, inbound: Inbound, respond: Responder) -> str | None:
    """Handle a message once however often it arrives; return the passive reply or None.

    When the database does not take the message within CLAIM_TIMEOUT, or fails, the
    message is kept in the spool and handled once the database is back. A text over
    MAX_TEXT is answered at once and nothing of it is stored, whatever the channel; so is a
    location whose label is (both reach the intent engine).
    """
    if any(words is not None and len(words) > MAX_TEXT for words in (inbound.text, inbound.label)):
        return TOO_LONG.format(limit=MAX_TEXT)
    started = time.monotonic()
    job = Job(deferred=services.reply_deadline <= 0)  # no time to answer: always push
    future = services.executor.submit(_admit_and_work, services, inbound, job, respond)
    if not job.admitted.wait(CLAIM_TIMEOUT):
        with job.lock:
            gave_up = not job.admitted.is_set()
            job.deferred = job.deferred or gave_up
        if gave_up:  # the worker handles it (pushing the reply) if the database wakes up
            log.warning("database did not take message in %.0f s; spooled", CLAIM_TIMEOUT)
            return _keep(services, inbound, respond)
    if job.failure is not None:
        if is_outage(job.failure):
            log.warning("database unreachable (%s); message spooled", type(job.failure).__name__)
            return _keep(services, inbound, respond)
        raise job.failure
    claim = job.claim or Claim()
    if claim.replayed:
        raise Replayed()
    if not claim.verdict.allowed:
        return RATE_LIMITED if claim.verdict.warn else None
    _drain_soon(services, respond)
    if claim.row_id is None:
        stored = claim.stored
        if stored is not None and stored.status == "done":  # a retry of an answered message
            return stored.reply if stored.reply_via == "passive" else None
        return _stored_reply(services, inbound.key)
    try:
        return future.result(timeout=max(0.0, services.reply_deadline - (time.monotonic() - started)))
    except FutureTimeout:
        with job.lock:
            if not job.decided:
                job.deferred = True
                log.info("message %s is slow; its reply will be pushed", claim.row_id)
                return None
        return _result_or_keep(services, inbound, respond, future)
    except SQLAlchemyError as err:
        if not is_outage(err):
            raise
        log.warning("database lost while handling message %s; spooled", claim.row_id)
        return _keep(services, inbound, respond)


def _result_or_keep(services: Services, inbound: Inbound, respond: Responder,
                    future: Future[str | None]) -> str | None:
    try:
        return future.result()
    except SQLAlchemyError as err:
        if not is_outage(err):
            raise
        return _keep(services, inbound, respond)


def _admit_and_work(services: Services, inbound: Inbound, job: Job,
                    respond: Responder) -> str | None:
    """Claim and handle the message; tell the waiting request as soon as the claim is settled.

    A resident's words are read first, before the transaction (intents.read_ahead)."""
    try:
        with intents.read_ahead(_residents_words(inbound)):
            return _claim_and_handle(services, inbound, job, respond, _gate(services, inbound))
    except BaseException as err:
        if _settle(job, failure=err):  # the request learns it and answers (or spools)
            return None
        raise


def _residents_words(inbound: Inbound) -> str | None:
    """The text the dialogue will read, for a resident's text or recognised voice."""
    if inbound.channel in STAFF_CHANNELS or inbound.kind not in ("text", "voice"):
        return None
    return (inbound.text or "").strip() or None


def _settle(job: Job, claim: Claim | None = None, failure: BaseException | None = None) -> bool:
    """Hand the claim's outcome to the request once; False when it was already handed."""
    with job.lock:
        if job.admitted.is_set():
            return False
        job.claim, job.failure = claim, failure
        job.admitted.set()
        return True


Gate = Callable[[Session], Verdict]


def _allow(_session: Session) -> Verdict:
    return ALLOWED


def _gate(services: Services, inbound: Inbound) -> Gate:
    """Return the rate-limit check for this message; refuse a known flooder without the database."""
    limiter = services.limiter
    if limiter is None or inbound.channel not in LIMITED_CHANNELS or inbound.kind == "event":
        return _allow
    key, now = bucket_key(inbound.channel, inbound.sender), services.clock()
    if limiter.known_refused(key, now.timestamp()):
        return lambda _session: SILENT

    def take(session: Session) -> Verdict:  # a known resident's bucket is on their row
        verdict = stamp_and_take(session, limiter, inbound.sender, key, now)
        return verdict if verdict is not None else limiter.check(session, key, now.timestamp())
    return take


def _claim_and_handle(services: Services, inbound: Inbound, job: Job, respond: Responder,
                      gate: Gate) -> str | None:
    """Claim the message under its key and handle it, all in one transaction.

    The claim is one statement (models.messages.claim_message): it inserts the row, or
    takes over one a failed handler left, or finds the row of a message handled or in hand
    (a retry, which then gets the stored reply). Until this transaction commits nobody else
    sees the row: a retry's claim waits for it (PostgreSQL's unique index, SQLite's write
    lock), and if this process dies the database rolls the row back, so the retry claims it
    again and handles it. `gate` runs on a message that is ours: a refused message gives its
    row back and stores nothing but its sender's counter; a retry never touches the counter.
    """
    now = services.clock()
    claimed: Claimed | None = None
    try:
        with services.transaction() as session:  # what the handler queued goes out after commit
            claimed = _claim(session, inbound, now)
            if not claimed.ours:
                _settle(job, Claim(stored=claimed))
                return None
            verdict = gate(session)
            if not verdict.allowed:
                release_claim(session, claimed)
                claimed = None
                _settle(job, Claim(verdict=verdict))
                return None
            _settle(job, Claim(claimed.id))
            reply, via = _respond(services, session, inbound, claimed.id, job, respond)
    except Replayed:  # the claim found the nonce kept for another message; nothing was taken
        _settle(job, Claim(replayed=True))
        return None
    except Apology as sorry:  # everything the handler did is rolled back; the apology is stored
        return _apologise(services, inbound, job, now, sorry.reply)
    except Exception as err:
        if isinstance(err, SQLAlchemyError) and is_outage(err):
            log.warning("message %s: database unreachable (%s)", inbound.key, type(err).__name__)
        else:
            log.exception("message %s could not be handled; WeChat's retry will", inbound.key)
        if claimed is not None and claimed.ours:
            _mark_failed(services, inbound, now)
        raise
    return reply if via == "passive" else None  # a pushed reply must not also go passively


def _apologise(services: Services, inbound: Inbound, job: Job, now: datetime,
               reply: str) -> str | None:
    """Store the apology as the message's reply in a transaction of its own, as it goes out."""
    with services.transaction() as session:
        claimed = _claim(session, inbound, now)  # the request's nonce kept again, after the rollback
        if not claimed.ours:  # a retry got in between and handles it
            return None
        _, via = _respond(services, session, inbound, claimed.id, job, lambda *_: reply)
    return reply if via == "passive" else None


def _claim(session: Session, inbound: Inbound, now: datetime) -> Claimed:
    """Claim the message's row, keeping its request's nonce (raises Replayed on a reused one)."""
    nonce, expires = _nonce(inbound)
    return claim_message(session, channel=inbound.channel, key=inbound.key, sender=inbound.sender,
                         msg_type=inbound.event or inbound.kind, content=inbound.text, now=now,
                         stale=STALE, nonce=nonce, nonce_expires=expires)


def _nonce(inbound: Inbound) -> tuple[str | None, datetime | None]:
    """The request's nonce and the end of its window, or neither (unsigned, or spooled by an
    older version)."""
    if inbound.nonce is None or inbound.nonce_expires is None:
        return None, None
    return inbound.nonce, datetime.fromtimestamp(inbound.nonce_expires, timezone.utc)


def _mark_failed(services: Services, inbound: Inbound, now: datetime) -> None:
    """Leave a `failed` row for operators and for the next retry to take over at once."""
    try:
        nonce, expires = _nonce(inbound)
        with transaction(services.sessions) as session:  # its nonce kept: a retry may reuse it
            session.add(InboundMessage(channel=inbound.channel, dedupe_key=inbound.key,
                                       sender=inbound.sender, msg_type=inbound.event or inbound.kind,
                                       content=inbound.text, received_at=now, status="failed",
                                       nonce=nonce, nonce_expires=expires))
    except SQLAlchemyError:  # a retry got in first, or the database is down (the spool has it)
        pass


# --- the spool: messages kept while the database is down ------------------------------------

def _keep(services: Services, inbound: Inbound, respond: Responder) -> None:
    """Keep the message in the spool for later; raise Unavailable when it cannot be kept."""
    drainer = services.spool
    if drainer is None:
        raise Unavailable("the database is down and no spool is configured")
    try:
        drainer.spool.keep(inbound.key, asdict(inbound))
    except (SpoolFull, OSError) as err:
        log.error("message could not be spooled (%s)", type(err).__name__)
        raise Unavailable(str(err)) from None
    # not at once: a retry usually comes first once the database is back, and WeChat waits
    drainer.kick(partial(_replay_kept, services, respond), delay=KEEP_DELAY)
    return None


def _drain_soon(services: Services, respond: Responder) -> None:
    """The database answers: start draining if this process has not looked lately."""
    drainer = services.spool
    if drainer is not None and drainer.due_for_look():
        drainer.kick(partial(_replay_kept, services, respond))


def _replay_kept(services: Services, respond: Responder, key: str, message: dict[str, Any]) -> bool:
    inbound = Inbound(**{name: message.get(name) for name in INBOUND_FIELDS})
    if inbound.key != key or not all(isinstance(getattr(inbound, name), str)
                                     for name in ("channel", "sender", "kind", "key")):
        raise ValueError("a spooled message does not match its key")
    return replay(services, inbound, respond)


def replay(services: Services, inbound: Inbound, respond: Responder) -> bool:
    """Handle a message kept while the database was down, pushing its reply.

    Return True once it is handled (here, or earlier by one of WeChat's retries), False
    while another worker has it in hand; raise spool.Outage while the database is down.
    """
    job = Job(deferred=True)
    try:
        _claim_and_handle(services, inbound, job, respond, _allow)
        if job.claim is not None and job.claim.replayed:
            log.warning("a kept message reused a nonce for another message; dropped")
            return True
        stored = job.claim.stored if job.claim is not None else None
        if stored is not None and stored.status == "done":
            return True
        if job.claim is None or job.claim.row_id is None:
            with services.sessions() as session:
                status = session.scalar(select(InboundMessage.status)
                                        .where(InboundMessage.dedupe_key == inbound.key))
            return status == "done"
    except SQLAlchemyError as err:
        if is_outage(err):
            raise Outage(type(err).__name__) from None
        raise
    return True


def _respond(services: Services, session: Session, inbound: Inbound, row_id: int,
             job: Job, respond: Responder) -> tuple[str, str]:
    """Ask the dialogue, store the reply on the row, and queue it as a push if nobody waits."""
    reply = respond(services, session, inbound)
    with job.lock:
        job.decided = True
        via = "push" if job.deferred else "passive"
    if via == "push" and reply:
        channel, recipient = _late_route(inbound)
        outbox.enqueue(session, key=f"reply:{inbound.key}", channel=channel,
                       recipient=recipient, body=reply, now=services.clock())
    session.flush()  # the handler's changes first, so a failing one leaves the row unfinished
    finish_message(session, row_id, reply=reply, via=via, now=services.clock())
    return reply, via


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
        try:
            with services.sessions() as session:
                row = session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))
        except SQLAlchemyError as err:
            if not is_outage(err):
                raise
            return None  # whoever holds the message keeps it in the spool if it fails
        if row is not None and row.status == "done":
            return row.reply if row.reply_via == "passive" else None
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
