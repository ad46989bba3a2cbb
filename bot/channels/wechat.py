"""The Official Account channel: `/wechat`.

Verify the signature, decrypt in safe mode, parse, dedupe, and render the reply.
The plaintext and encrypted paths share one body of code; only the envelope differs.
"""
from __future__ import annotations

import binascii
import hmac
import logging
import struct
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask import Blueprint, Response, abort, current_app, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import WeChatSigner

from bot import dialogue, replies
from bot.inbound import Inbound, receive
from bot.services import Services

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

KINDS = {"text": "text", "voice": "voice", "image": "image", "location": "location",
         "event": "event"}
FOLLOW_EVENTS = {"subscribe": "subscribe", "subscribe_scan": "subscribe",
                 "unsubscribe": "unsubscribe"}
UNDECRYPTABLE = (InvalidAppIdException, ValueError, TypeError, IndexError, struct.error,
                 binascii.Error)


class BadMessage(Exception):
    """The body cannot be read as a WeChat message."""


def sign(*parts: str) -> str:
    """Return WeChat's SHA1 signature over the sorted parts."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _signed(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _services() -> Services:
    return current_app.extensions["linli"]


def _check_signature() -> None:
    args, token = request.args, _services().config["wechat"]["token"]
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not _signed(sign(token, timestamp, nonce), args.get("signature")):
        abort(403)


@bp.get("/wechat")
def url_check() -> Response:
    """Answer WeChat's URL check with echostr, only when the signature holds."""
    _check_signature()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def incoming() -> Response:
    """Take a message or event, and answer with a passive reply or `success`."""
    _check_signature()
    services = _services()
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    body = request.get_data(cache=False)
    try:
        xml = _open_envelope(services, body) if encrypted else body
        message = _parse(xml)
        inbound = _inbound(message)
    except BadMessage as err:
        log.info("rejected a /wechat body: %s", err)
        return Response(f"bad request: {err}\n", status=400, mimetype="text/plain")
    if dialogue.too_long(inbound):
        text = replies.TOO_LONG.format(limit=dialogue.MAX_TEXT)
    else:
        text = receive(services, inbound, dialogue.respond)
    if not text:
        return Response("success", mimetype="text/plain")
    out = create_reply(text, message).render()
    if encrypted:
        out = _crypto(services).encrypt_message(out, request.args.get("nonce", ""),
                                                request.args.get("timestamp"))
    return Response(out, mimetype="application/xml")


def _crypto(services: Services) -> WeChatCrypto:
    conf = services.config["wechat"]
    if not conf["encoding_aes_key"]:
        raise BadMessage("safe mode is not configured")
    return WeChatCrypto(conf["token"], conf["encoding_aes_key"], conf["app_id"])


def _open_envelope(services: Services, body: bytes) -> bytes:
    """Check msg_signature over the Encrypt field and decrypt it."""
    crypto = _crypto(services)
    encrypt = _fields(body).get("Encrypt")
    if not encrypt:
        raise BadMessage("no Encrypt field")
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not _signed(sign(services.config["wechat"]["token"], timestamp, nonce, encrypt),
                   args.get("msg_signature")):
        abort(403)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, args["msg_signature"], timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    except UNDECRYPTABLE as err:
        raise BadMessage(f"cannot decrypt ({type(err).__name__})") from None
    return plain.encode("utf-8")


def _fields(xml: bytes | str) -> dict[str, str]:
    """Parse XML safely (no DTD, no entities) into the root's child texts."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise BadMessage(f"malformed XML ({type(err).__name__})") from None
    if root.tag != "xml":
        raise BadMessage("the root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


def _parse(xml: bytes | str) -> object:
    """Check the XML with defusedxml, then let wechatpy build the message."""
    fields = _fields(xml)
    if not fields.get("FromUserName") or not fields.get("MsgType"):
        raise BadMessage("FromUserName or MsgType is missing")
    try:
        return parse_message(xml)
    except (KeyError, ExpatError, ValueError) as err:
        raise BadMessage(f"not a WeChat message ({type(err).__name__})") from None


def _inbound(message: object) -> Inbound:
    """Map a wechatpy message to the channel-neutral form, with its dedupe key."""
    kind = KINDS.get(message.type, "unknown")  # type: ignore[attr-defined]
    sender: str = message.source  # type: ignore[attr-defined]
    try:
        msg_id, created = int(message.id), int(message.time)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise BadMessage("MsgId or CreateTime is not a number") from None
    if kind == "event":
        event = FOLLOW_EVENTS.get(message.event, message.event)  # type: ignore[attr-defined]
        # wechatpy gives every event the id 0: key events on sender, time and type.
        return Inbound("wechat", sender, "event", f"wechat:event:{sender}:{created}:{event}",
                       event=event)
    key = f"wechat:msg:{msg_id}" if msg_id else f"wechat:{kind}:{sender}:{created}"
    if kind == "text":
        return Inbound("wechat", sender, kind, key, text=message.content or "")  # type: ignore[attr-defined]
    if kind == "voice":
        return Inbound("wechat", sender, kind, key, text=message.recognition or "")  # type: ignore[attr-defined]
    if kind == "image":
        return Inbound("wechat", sender, kind, key, media_id=message.media_id,  # type: ignore[attr-defined]
                       pic_url=message.image)  # type: ignore[attr-defined]
    if kind == "location":
        return Inbound("wechat", sender, kind, key, label=message.label,  # type: ignore[attr-defined]
                       latitude=message.location_x, longitude=message.location_y)  # type: ignore[attr-defined]
    return Inbound("wechat", sender, "unknown", key)
