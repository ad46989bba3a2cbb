"""Photos over HTTP: staff open a ticket's photo through a signed, expiring link
(`/photos/<token>`, from the ticket card); the public board shows a published ticket's
photos re-encoded without metadata (`/board/photos/<id>.jpg`).

A link that is past its time, changed, or names a photo not kept is answered in Chinese
with what to do instead; nothing here writes.
"""
from __future__ import annotations

from flask import Response, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot import photos
from bot.services import current as services
from models import Ticket, TicketPhoto
from web.pages import page_blueprint

bp = page_blueprint("photos", __name__)

PHOTO_TEXTS = {
    "expired": "这个照片链接已过期。请在工作群或企业微信里发“照片 #工单号”（如“照片 #12”），用新的链接查看。",
    "invalid": "这个照片链接无效（可能被改动过）。请从工单卡片里的链接打开。",
    "waiting": "这张照片还在从微信保存过来，请过一两分钟再打开。",
    "refused": "居民发来的不是可保存的图片，没有可显示的照片。",
    "lost": "这张照片没能从微信取回（微信只保留三天），请联系居民重新发送。",
    "missing": "没有这张照片：可能已按居民的要求删除。",
}


def _text(name: str, status: int) -> Response:
    return Response(PHOTO_TEXTS[name] + "\n", status=status, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


def _image(data: bytes, content_type: str, cache: str) -> Response:
    return Response(data, mimetype=content_type, headers={"Cache-Control": cache})


@bp.get("/photos/<signed>")
def staff_photo(signed: str) -> ResponseReturnValue:
    """The photo as the resident sent it, for staff holding a link that is still valid."""
    s = services()
    try:
        photo_id = photos.opened(s, signed)
    except photos.LinkExpired:
        return _text("expired", 410)
    except photos.LinkInvalid:
        return _text("invalid", 403)
    with s.sessions() as session:
        photo = session.get(TicketPhoto, photo_id)
        if photo is None:
            return _text("missing", 404)
        key, content_type, problem = photo.stored_key, photo.content_type, photo.problem
    if key is None:
        if problem:
            return _text("refused", 404)
        return _text("lost", 404) if photos.given_up(s, photo_id) else _text("waiting", 404)
    data = s.store.get(key)
    if data is None:
        return _text("missing", 404)
    return _image(data, content_type or "application/octet-stream", "private, no-store")


@bp.get("/board/photos/<int:photo_id>.jpg")
def public_photo(photo_id: int) -> ResponseReturnValue:
    """A published ticket's photo, re-encoded without EXIF; nothing before 公示."""
    s = services()
    with s.sessions() as session:
        key = session.scalar(select(TicketPhoto.public_key).join(
            Ticket, Ticket.id == TicketPhoto.ticket_id).where(
            TicketPhoto.id == photo_id, Ticket.public_text.is_not(None)))
    data = s.store.get(key) if key else None
    if data is None:
        return _text("missing", 404)
    return _image(data, "image/jpeg", "public, max-age=300")


def public_url(photo_id: int) -> str:
    """The absolute address of a published photo's copy without EXIF (Open311's media_url)."""
    return url_for("photos.public_photo", photo_id=photo_id, _external=True)
