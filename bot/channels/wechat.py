"""The Official Account channel: `/wechat`.

Verify the signature, decrypt in safe mode, parse, dedupe, and render the reply.
The plaintext and encrypted paths share one body of code; only the envelope differs.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import create_reply

from bot import dialogue
from bot.channels import replay
from bot.channels.common import (UNDECRYPTABLE, BadMessage, fields_of, parse_xml, replayed, sign,
                                 signed, to_inbound, unavailable)
from bot.inbound import Replayed, Unavailable, receive
from bot.services import Services, current as services_of

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)
bp.register_error_handler(Unavailable, unavailable)
bp.register_error_handler(Replayed, replayed)


def _check_signature() -> None:
    args, token = request.args, services_of().config.wechat.token
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not signed(sign(token, timestamp, nonce), args.get("signature")):
        abort(403)


@bp.get("/wechat")
def url_check() -> Response:
    """Answer WeChat's URL check with echostr, only when the signature holds."""
    _check_signature()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def incoming() -> Response:
    """Take a message or event, and answer with a passive reply or `success`.

    In safe mode (`[wechat] mode`) a plaintext post is refused: only safe mode's
    msg_signature covers the message itself.
    """
    _check_signature()
    services = services_of()
    replay.check_fresh(services)
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    if not encrypted and services.config.wechat.mode == "safe":
        abort(403)
    body = request.get_data(cache=False)
    try:
        xml = _open_envelope(services, body) if encrypted else body
        message, fields = parse_xml(xml)
        inbound = replay.stamped(to_inbound(message, fields, "wechat"))
    except BadMessage as err:
        log.info("rejected a /wechat body: %s", err)
        return Response(f"bad request: {err}\n", status=400, mimetype="text/plain")
    text = receive(services, inbound, dialogue.respond)
    if not text:
        return Response("success", mimetype="text/plain")
    out = create_reply(text, message).render()
    if encrypted:
        out = _crypto(services).encrypt_message(out, request.args.get("nonce", ""),
                                                request.args.get("timestamp"))
    return Response(out, mimetype="application/xml")


def _crypto(services: Services) -> WeChatCrypto:
    conf = services.config.wechat
    if not conf.encoding_aes_key:
        raise BadMessage("safe mode is not configured")
    return WeChatCrypto(conf.token, conf.encoding_aes_key, conf.app_id)


def _open_envelope(services: Services, body: bytes) -> bytes:
    """Check msg_signature over the Encrypt field and decrypt it."""
    crypto = _crypto(services)
    encrypt = fields_of(body).get("Encrypt")
    if not encrypt:
        raise BadMessage("no Encrypt field")
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not signed(sign(services.config.wechat.token, timestamp, nonce, encrypt),
                   args.get("msg_signature")):
        abort(403)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, args["msg_signature"], timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    except UNDECRYPTABLE as err:
        raise BadMessage(f"cannot decrypt ({type(err).__name__})") from None
    return plain.encode("utf-8")
