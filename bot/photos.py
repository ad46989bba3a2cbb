"""Residents' photos, kept for good: downloaded from WeChat, checked, stored, linked.

WeChat keeps a photo's `media_id` three days and its `PicUrl` is temporary, so each
photo is copied into the project's storage (bot/storage.py) by a job in the outbox:
a row written with the photo, claimed under a lease, retried with backoff when WeChat
or the store fails, recovered after a crash (bot/outbox.py). The job checks the bytes
with Pillow (an image, not too large), keeps the file as sent for staff and a
re-encoded copy without metadata (EXIF: where and when it was taken, the phone) for
the public board. Staff open a photo through a signed link that expires.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from io import BytesIO

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.replies.report import PHOTO_NOT_IMAGE, PHOTO_TOO_LARGE
from bot.services import Services
from bot.storage import StorageError
from bot.wxapi import DeliveryError
from models import OutboxMessage, Resident, TicketPhoto, transaction

DOWNLOAD = "wechat_media"  # outbox channel: copy one photo (recipient: its id) into storage
DELETE = "photo_delete"  # outbox channel: delete stored files (body: a JSON list of keys)
KEPT = "wechat media/get"
# what is accepted, as Pillow names it -> (content type, file extension)
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif"),
           "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 50_000_000  # a phone's photo is under 50 megapixels; more is a decompression bomb
SALT = "linli.photo-link"
PUBLIC_SIDE = 1600  # pixels on the long side of the board's copy: enough to see, quick to make


class Refused(ValueError):
    """The file cannot be kept as a photo; `reason` is "not_image" or "too_large"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LinkExpired(ValueError):
    """A staff link to a photo that was signed by us but is past its time."""


class LinkInvalid(ValueError):
    """A staff link to a photo that we did not sign (or that was changed)."""


# ---- the bytes -----------------------------------------------------------------
def examine(data: bytes, max_bytes: int) -> tuple[str, str]:
    """Return the image's content type and extension; raise Refused for anything else.

    The bytes decide, never a name or a header: Pillow must read them as one of FORMATS.
    """
    if len(data) > max_bytes:
        raise Refused("too_large")
    try:
        with Image.open(BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if width * height > MAX_PIXELS:
                raise Refused("too_large")
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, Refused):
            raise
        raise Refused("not_image") from None
    if kind not in FORMATS:
        raise Refused("not_image")
    return FORMATS[kind]


def without_metadata(data: bytes) -> bytes:
    """Re-encode the image as a JPEG that carries pixels only: no EXIF (GPS), no comments,
    at most PUBLIC_SIDE pixels on its long side.

    It is turned upright first, since the orientation tag goes with the rest. Pixels that
    cannot be decoded (a cut-off file) raise Refused("not_image").
    """
    try:
        with Image.open(BytesIO(data)) as image:
            image.draft("RGB", (PUBLIC_SIDE, PUBLIC_SIDE))  # a JPEG decodes at a smaller scale
            upright = ImageOps.exif_transpose(image).convert("RGB")
            upright.thumbnail((PUBLIC_SIDE, PUBLIC_SIDE))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Refused("not_image") from None
    upright.info = {}  # Pillow would write a kept comment or XMP back
    out = BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


# ---- jobs ----------------------------------------------------------------------
def keep(session: Session, photo: TicketPhoto, now: datetime) -> None:
    """Queue the photo's download, in the caller's transaction (it leaves after the commit)."""
    session.flush()
    outbox.enqueue(session, key=f"photo:{photo.id}:keep", channel=DOWNLOAD,
                   recipient=str(photo.id), body="", kind="photo", now=now)


def forget(session: Session, keys: list[str], *, key: str, now: datetime) -> None:
    """Queue the deletion of stored files (erasure), in the caller's transaction."""
    if keys:
        outbox.enqueue(session, key=key, channel=DELETE, recipient="storage",
                       body=json.dumps(keys), kind="photo", now=now)


def given_up(services: Services, photo_id: int) -> bool:
    """Whether the photo's download failed for good (WeChat forgot it, or every try failed)."""
    with services.sessions() as session:
        return session.scalar(select(OutboxMessage.status).where(
            OutboxMessage.dedupe_key == f"photo:{photo_id}:keep")) == "failed"


@outbox.job(DOWNLOAD)
def download(services: Services, message: OutboxMessage) -> str:
    """Copy one photo from WeChat into storage; a refused file is answered, not retried."""
    photo_id = int(message.recipient)
    with services.sessions() as session:
        row = session.execute(select(TicketPhoto.media_id, TicketPhoto.ticket_id,
                                     TicketPhoto.stored_key, TicketPhoto.resident_id)
                              .where(TicketPhoto.id == photo_id)).first()
    if row is None or row.stored_key is not None:
        return "photo gone or kept"  # erased meanwhile, or a repeated job
    data = services.wechat.download_media(row.media_id)
    try:
        content_type, extension = examine(data, services.config.storage.max_bytes)
        clean = without_metadata(data)
    except Refused as refused:
        _refuse(services, photo_id, row.ticket_id, row.resident_id, refused.reason)
        return "media/get: refused"
    base = f"ticket-{row.ticket_id}/photo-{photo_id}-{secrets.token_hex(8)}"
    stored, public = f"{base}.{extension}", f"{base}-public.jpg"
    try:
        services.store.put(stored, data, content_type)
        services.store.put(public, clean, "image/jpeg")
    except StorageError as err:
        raise DeliveryError(str(err)) from None
    with transaction(services.sessions) as session:
        taken = session.execute(update(TicketPhoto).where(
            TicketPhoto.id == photo_id, TicketPhoto.stored_key.is_(None)).values(
            stored_key=stored, public_key=public, content_type=content_type, size=len(data),
            kept_at=services.clock())).rowcount
    if not taken:  # erased while downloading, or kept by a worker whose lease ran out
        _delete(services, [stored, public])
    return KEPT


@outbox.job(DELETE)
def delete(services: Services, message: OutboxMessage) -> str:
    """Delete stored files; a store that fails is asked again later."""
    _delete(services, json.loads(message.body))
    return "storage delete"


def _delete(services: Services, keys: list[str]) -> None:
    try:
        for key in keys:
            services.store.delete(key)
    except StorageError as err:
        raise DeliveryError(str(err)) from None


def _refuse(services: Services, photo_id: int, ticket_id: int, resident_id: int | None,
            reason: str) -> None:
    """Record why the photo was not kept and tell its sender what to send instead."""
    limit = services.config.storage.max_bytes // (1024 * 1024)
    text = (PHOTO_TOO_LARGE if reason == "too_large" else PHOTO_NOT_IMAGE).format(
        number=ticket_id, limit=max(limit, 1))
    with services.transaction() as session:
        session.execute(update(TicketPhoto).where(TicketPhoto.id == photo_id)
                        .values(problem=reason))
        openid = session.scalar(select(Resident.openid).where(Resident.id == resident_id)) \
            if resident_id is not None else None
        if openid:
            outbox.enqueue(session, key=f"photo:{photo_id}:refused", channel="wechat",
                           recipient=openid, body=text, kind="ticket_update",
                           now=services.clock(), ticket_id=ticket_id)


# ---- links -----------------------------------------------------------------------
def _serializer(services: Services) -> URLSafeTimedSerializer:
    clock = services.clock

    class Signer(TimestampSigner):
        """Signs with the app's clock, so a link's age is the app's idea of time."""

        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return URLSafeTimedSerializer(services.config.photo_link_key, salt=SALT, signer=Signer)


def token(services: Services, photo_id: int) -> str:
    """A signed token naming the photo; `opened` accepts it for `[storage] link_ttl`."""
    return _serializer(services).dumps(photo_id)


def opened(services: Services, signed: str) -> int:
    """The photo a token names; raise LinkExpired or LinkInvalid."""
    try:
        photo_id = _serializer(services).loads(signed, max_age=services.config.storage.link_ttl)
    except SignatureExpired:
        raise LinkExpired(signed) from None
    except BadSignature:
        raise LinkInvalid(signed) from None
    if not isinstance(photo_id, int) or isinstance(photo_id, bool):
        raise LinkInvalid(signed)
    return photo_id


def staff_link(services: Services, photo_id: int) -> str | None:
    """The signed address staff open a photo at; None without `[server] public_url`."""
    base = services.config.server.public_url
    return f"{base}photos/{token(services, photo_id)}" if base else None
