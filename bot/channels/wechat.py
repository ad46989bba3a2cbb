"""The Official Account channel: `/wechat`.

Verify the signature, decrypt in safe mode, parse, dedupe, and render the reply.
The plaintext and encrypted paths share one body of code; only the envelope differs.
"""
from __future__ import annotations

import binascii
import hmac
import logging
import struct
from typing import Any, Callable
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask import Blueprint, Response, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import WeChatSigner

from bot import dialogue
from bot.inbound import Inbound, Unavailable, receive
from bot.replies.general import TOO_LONG
from bot.services import Services, current as services_of

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

MAX_USER = 64  # openids and UserIDs; inbound_messages.sender is String(64)
MAX_NAME = 32  # an event's name (inbound_messages.msg_type is String(32))
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


def signed(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _check_signature() -> None:
    args, token = request.args, services_of().config["wechat"]["token"]
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not signed(sign(token, timestamp, nonce), args.get("signature")):
        abort(403)


@bp.errorhandler(Unavailable)
def unavailable(_error: Unavailable) -> Response:
    """The database is down and the spool is full: 503, so WeChat tries again."""
    return Response("service unavailable\n", status=503, mimetype="text/plain")


@bp.get("/wechat")
def url_check() -> Response:
    """Answer WeChat's URL check with echostr, only when the signature holds."""
    _check_signature()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def incoming() -> Response:
    """Take a message or event, and answer with a passive reply or `success`."""
    _check_signature()
    services = services_of()
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    body = request.get_data(cache=False)
    try:
        xml = _open_envelope(services, body) if encrypted else body
        message, fields = parse_xml(xml)
        inbound = to_inbound(message, fields, "wechat")
    except BadMessage as err:
        log.info("rejected a /wechat body: %s", err)
        return Response(f"bad request: {err}\n", status=400, mimetype="text/plain")
    if dialogue.too_long(inbound):
        text = TOO_LONG.format(limit=dialogue.MAX_TEXT)
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
    encrypt = fields_of(body).get("Encrypt")
    if not encrypt:
        raise BadMessage("no Encrypt field")
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not signed(sign(services.config["wechat"]["token"], timestamp, nonce, encrypt),
                   args.get("msg_signature")):
        abort(403)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, args["msg_signature"], timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    except UNDECRYPTABLE as err:
        raise BadMessage(f"cannot decrypt ({type(err).__name__})") from None
    return plain.encode("utf-8")


def fields_of(xml: bytes | str) -> dict[str, str]:
    """Parse XML safely (no DTD, no entities) into the root's child texts."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise BadMessage(f"malformed XML ({type(err).__name__})") from None
    if root.tag != "xml":
        raise BadMessage("the root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


def parse_xml(xml: bytes | str, parse: Callable[[Any], Any] = parse_message
              ) -> tuple[Any, dict[str, str]]:
    """Check the XML with defusedxml, then let wechatpy (or wechatpy.enterprise) build the message."""
    fields = fields_of(xml)
    if not fields.get("FromUserName") or not fields.get("MsgType"):
        raise BadMessage("FromUserName or MsgType is missing")
    try:
        return parse(xml), fields
    except (KeyError, ExpatError, ValueError) as err:
        raise BadMessage(f"not a message ({type(err).__name__})") from None


def to_inbound(message: Any, fields: dict[str, str], channel: str) -> Inbound:
    """Map a wechatpy message to the channel-neutral form, with its dedupe key."""
    sender = fields["FromUserName"]
    if len(sender) > MAX_USER:
        raise BadMessage("FromUserName is too long")
    try:
        msg_id, created = int(fields.get("MsgId") or 0), int(fields.get("CreateTime", ""))
    except ValueError:
        raise BadMessage("MsgId or CreateTime is not a number") from None
    if not (0 <= msg_id < 2**64 and 0 <= created < 2**63):  # keeps the dedupe key short
        raise BadMessage("MsgId or CreateTime is out of range")
    kind = KINDS.get(fields["MsgType"].lower(), "unknown")
    if kind == "event":
        event = fields.get("Event", "").lower()
        if not event or len(event) > MAX_NAME:
            raise BadMessage("Event is missing or too long")
        event = FOLLOW_EVENTS.get(event, event)
        # wechatpy gives every event the id 0: key events on sender, time and type.
        return Inbound(channel, sender, "event", f"{channel}:event:{sender}:{created}:{event}",
                       event=event)
    key = f"{channel}:msg:{msg_id}" if msg_id else f"{channel}:{kind}:{sender}:{created}"
    if kind == "text":
        return Inbound(channel, sender, kind, key, text=message.content or "")
    if kind == "voice":
        return Inbound(channel, sender, kind, key, text=message.recognition or "")
    if kind == "image":
        return Inbound(channel, sender, kind, key, media_id=message.media_id, pic_url=message.image)
    if kind == "location":
        return Inbound(channel, sender, kind, key, label=message.label,
                       latitude=message.location_x, longitude=message.location_y)
    return Inbound(channel, sender, "unknown", key)
