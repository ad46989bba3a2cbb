"""The WeCom channels: `/wecom` (the app: staff private chats) and `/wecom/bot` (the smart robot).

Both are always encrypted: `msg_signature` covers the ciphertext and is checked in
constant time before anything is decrypted. The app speaks XML (wechatpy.enterprise,
receive id = corp id); the smart robot speaks JSON with an empty receive id and
answers in the group with a passive "stream" reply, or later through `response_url`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, request
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import to_text

from bot import dialogue
from bot.channels import replay
from bot.channels.common import UNDECRYPTABLE as WECHAT_UNDECRYPTABLE
from bot.channels.common import (MAX_NAME, MAX_USER, BadMessage, fields_of, parse_xml, replayed,
                                 sign, signed, to_inbound, unavailable)
from bot.inbound import Inbound, Replayed, Unavailable, receive
from bot.services import Services, current as services_of
from settings import WeCom, WeComBot

log = logging.getLogger(__name__)
bp = Blueprint("wecom", __name__)
bp.register_error_handler(Unavailable, unavailable)
bp.register_error_handler(Replayed, replayed)

UNDECRYPTABLE = (*WECHAT_UNDECRYPTABLE, InvalidCorpIdException)
BOT_RECEIVE_ID = ""  # an internal smart robot's receive id is the empty string
MAX_ID = 128  # msgid, chatid: the dedupe key column holds 200
MAX_URL = 2048
MAX_MENTIONS = 5  # @-mentions stripped at each end of a group message
MAX_STREAM_BYTES = 20480  # stream.content limit in WeCom's passive reply spec


def _app_config(services: Services) -> WeCom:
    """Return [wecom], or answer 404 when the app's callback is not configured."""
    if not services.config.wecom.ready:
        abort(404)
    return services.config.wecom


def _bot_config(services: Services) -> WeComBot:
    """Return [wecom.bot], or answer 404 when the smart robot is not configured."""
    if not services.config.wecom.bot.ready:
        abort(404)
    return services.config.wecom.bot


def _check(token: str, encrypted: str) -> None:
    """Answer 403 unless msg_signature is the signature over token, time, nonce and ciphertext."""
    args = request.args
    expected = sign(token, args.get("timestamp", ""), args.get("nonce", ""), encrypted)
    if not signed(expected, args.get("msg_signature")):
        abort(403)


def _decrypt(crypto: WeChatCrypto, encrypted: str) -> str:
    args = request.args
    try:
        return crypto.decrypt_message({"Encrypt": encrypted}, args.get("msg_signature"),
                                      args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    except UNDECRYPTABLE as err:
        raise BadMessage(f"cannot decrypt ({type(err).__name__})") from None


def _url_check(token: str, crypto: WeChatCrypto) -> Response:
    """Verify the signature over echostr and answer it decrypted (no quotes, no newline)."""
    echostr = request.args.get("echostr", "")
    _check(token, echostr)
    try:
        return Response(_decrypt(crypto, echostr), mimetype="text/plain")
    except BadMessage as err:
        return _rejected(err)


def _rejected(err: BadMessage) -> Response:
    log.info("rejected a %s request: %s", request.path, err)
    return Response(f"bad request: {err}\n", status=400, mimetype="text/plain")


def _empty() -> Response:
    """WeCom takes an empty 200 as "received, no passive reply", and does not retry."""
    return Response("", mimetype="text/plain")


def _answer(services: Services, inbound: Inbound) -> str | None:
    return receive(services, inbound, dialogue.respond)


# --- /wecom: the WeCom app ------------------------------------------------------------------

def _app_crypto(conf: WeCom) -> WeChatCrypto:
    return WeChatCrypto(conf.token, conf.encoding_aes_key, conf.corp_id)


@bp.get("/wecom")
def app_url_check() -> Response:
    """Answer WeCom's URL check with the decrypted echostr, only when the signature holds."""
    conf = _app_config(services_of())
    return _url_check(conf.token, _app_crypto(conf))


@bp.post("/wecom")
def app_incoming() -> Response:
    """Take a staff member's message or event, and answer with an encrypted passive reply."""
    services = services_of()
    conf = _app_config(services)
    if not request.args.get("msg_signature"):
        abort(403)
    crypto = _app_crypto(conf)
    try:
        encrypted = fields_of(request.get_data(cache=False)).get("Encrypt")
        if not encrypted:
            raise BadMessage("no Encrypt field")
        _check(conf.token, encrypted)
        replay.check_fresh(services)
        message, fields = parse_xml(_decrypt(crypto, encrypted), parse_message)
        inbound = replay.stamped(to_inbound(message, fields, "wecom"))
    except BadMessage as err:
        return _rejected(err)
    text = _answer(services, inbound)
    if not text:
        return _empty()
    reply = TextReply(message=message, content=text, agent=conf.agent_id or 0).render()
    out = crypto.encrypt_message(reply, request.args.get("nonce", ""),
                                 request.args.get("timestamp") or _now(services))
    return Response(out, mimetype="application/xml")


def _now(services: Services) -> str:
    return str(int(services.clock().timestamp()))


# --- /wecom/bot: the smart robot in staff group chats ----------------------------------------

def _bot_crypto(conf: WeComBot) -> WeChatCrypto:
    return WeChatCrypto(conf.token, conf.encoding_aes_key, BOT_RECEIVE_ID)


@bp.get("/wecom/bot")
def bot_url_check() -> Response:
    """Answer the smart robot's URL check (receive id "") with the decrypted echostr."""
    conf = _bot_config(services_of())
    return _url_check(conf.token, _bot_crypto(conf))


@bp.post("/wecom/bot")
def bot_incoming() -> Response:
    """Take a group message that @-mentions the robot; answer with an encrypted stream reply."""
    services = services_of()
    conf = _bot_config(services)
    if not request.args.get("msg_signature"):
        abort(403)
    try:
        encrypted = _string(_json_object(request.get_data(cache=False)), "encrypt", None)
        _check(conf.token, encrypted)
        replay.check_fresh(services)
        callback = _json_object(_decrypt(_bot_crypto(conf), encrypted))
        inbound = _bot_inbound(callback)
    except BadMessage as err:
        return _rejected(err)
    if inbound is None:
        return _empty()
    inbound = replay.stamped(inbound)
    text = _answer(services, inbound)
    if not text:  # answered later through response_url by the outbox
        return _empty()
    return _stream_reply(services, conf, inbound.key, text)


def _json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise BadMessage(f"malformed JSON ({type(err).__name__})") from None
    if not isinstance(value, dict):
        raise BadMessage("the JSON body is not an object")
    return value


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise BadMessage(f"{key} is missing or not an object")
    return value


def _string(parent: dict[str, Any], key: str, limit: int | None, *,
            required: bool = True, empty: bool = False) -> str:
    """Return a string field, refusing wrong types, overlong values and unstorable characters."""
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (not value and not empty) \
            or (limit is not None and len(value) > limit):
        raise BadMessage(f"{key} is missing or not a string" +
                         (f" of at most {limit} characters" if limit else ""))
    try:
        value.encode("utf-8")  # a lone surrogate (a \ud800 escape) cannot be stored
    except UnicodeEncodeError:
        raise BadMessage(f"{key} holds characters that cannot be stored") from None
    if "\x00" in value:  # nor can NUL, in PostgreSQL
        raise BadMessage(f"{key} holds characters that cannot be stored")
    return value


def _bot_inbound(message: dict[str, Any]) -> Inbound | None:
    """Validate a decrypted callback and map it; None for stream refreshes and events."""
    msgtype = _string(message, "msgtype", MAX_NAME)
    if msgtype in ("stream", "event"):
        return None  # we never leave a stream open, and no event needs an answer
    msg_id = _string(message, "msgid", MAX_ID)
    sender = _string(_object(message, "from"), "userid", MAX_USER)
    chat_type = _string(message, "chattype", MAX_NAME, required=False)
    chat_id = _string(message, "chatid", MAX_ID, required=chat_type == "group")
    response_url = _string(message, "response_url", MAX_URL, required=False)
    if response_url and (urlsplit(response_url).scheme not in ("http", "https")
                         or not urlsplit(response_url).netloc):
        raise BadMessage("response_url is not an http(s) URL")
    text = _bot_text(message, msgtype)
    return Inbound("wecom_bot", sender, "text" if text is not None else "unknown",
                   f"wecom_bot:msg:{msg_id}", text=text, chat_id=chat_id or None,
                   response_url=response_url or None)


def _bot_text(message: dict[str, Any], msgtype: str) -> str | None:
    """Return the words of a text or mixed message without the @-mentions; None for others."""
    if msgtype == "text":
        return strip_mentions(_string(_object(message, "text"), "content", None, empty=True))
    if msgtype != "mixed":
        return None
    items = _object(message, "mixed").get("msg_item")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadMessage("mixed.msg_item is not a list of objects")
    words = [_string(_object(item, "text"), "content", None, empty=True)
             for item in items if item.get("msgtype") == "text"]
    return strip_mentions("\n".join(words)) if words else None


def strip_mentions(content: str) -> str:
    """Drop the @-mentions (the robot's name among them) at either end of a group message."""
    text = content.strip()
    for _ in range(MAX_MENTIONS):
        if not text.startswith("@"):
            break
        parts = text.split(None, 1)
        text = parts[1].strip() if len(parts) > 1 else ""
    for _ in range(MAX_MENTIONS):
        parts = text.rsplit(None, 1)
        if len(parts) < 2 or not parts[1].startswith("@"):
            break
        text = parts[0].rstrip()
    return text


def _stream_reply(services: Services, conf: WeComBot, key: str, text: str) -> Response:
    """Encrypt a finished stream message into WeCom's JSON envelope, signed like a callback."""
    content = text.encode("utf-8")[:MAX_STREAM_BYTES].decode("utf-8", "ignore")
    # One stream id per message, so a retried callback gets the very same reply.
    stream_id = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    plain = json.dumps({"msgtype": "stream",
                        "stream": {"id": stream_id, "finish": True, "content": content}},
                       ensure_ascii=False)
    encrypted = to_text(PrpCrypto(_bot_crypto(conf).key).encrypt(plain, BOT_RECEIVE_ID))
    timestamp = request.args.get("timestamp") or _now(services)
    nonce = request.args.get("nonce", "")
    body = {"encrypt": encrypted, "msgsignature": sign(conf.token, timestamp, nonce, encrypted),
            "timestamp": timestamp, "nonce": nonce}
    return Response(json.dumps(body), mimetype="application/json")
