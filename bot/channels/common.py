"""What the WeChat and WeCom channels share: signatures, XML read safely, the mapping of a
parsed message to an Inbound, and the answer when the database cannot take a message.

wechatpy and defusedxml are imported here and in the two channels, nowhere else on the
inbound side.
"""
from __future__ import annotations

import binascii
import hmac
import struct
from typing import Any, Callable
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask import Response
from wechatpy import parse_message
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner

from bot.inbound import Inbound, Replayed, Unavailable

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
    """Tell whether the signature given is the one expected (compared in constant time)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def unavailable(_error: Unavailable) -> Response:
    """The database is down and the spool is full: 503, so WeChat tries again."""
    return Response("service unavailable\n", status=503, mimetype="text/plain")


def replayed(_error: Replayed) -> Response:
    """A signature copied from an earlier request, carrying another message: refused."""
    return Response("forbidden: this nonce was already used\n", status=403, mimetype="text/plain")


def fields_of(xml: bytes | str) -> dict[str, str]:
    """Parse XML safely (no DTD, no entities) into the root's child texts."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise BadMessage(f"malformed XML ({type(err).__name__})") from None
    if root.tag != "xml":
        raise BadMessage("the root element is not <xml>")
    fields = {child.tag: (child.text or "") for child in root}
    if len(fields) != len(root):  # WeChat never repeats a field; which one would count is a guess
        raise BadMessage("a field is repeated")
    return fields


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
