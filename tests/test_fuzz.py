"""Fuzzing the webhooks: hypothesis-made XML, JSON, signatures and texts against /wechat,
/wecom and /wecom/bot, over real HTTP. Never a 5xx, never a hang, and a refused request
(400, 403, 413) writes nothing: inbound messages, tickets and the outbox keep their counts.

`make test` runs a few dozen examples per property; `make faults` runs many more
(LINLI_FUZZ_EXAMPLES).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable
from xml.sax.saxutils import escape

import requests
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import to_text

from models import InboundMessage, OutboxMessage, Ticket
from tests.factories import ACCOUNT, WeChatPeer, sign, text_xml, xml_fields

EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "25"))
WECHAT_LIMIT = 5.0  # seconds: WeChat gives up (and retries) after this
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
          "MediaId", "PicUrl", "Recognition", "Location_X", "Location_Y", "Label", "AgentID",
          "Encrypt")
MSG_TYPES = ("text", "voice", "image", "location", "event", "video", "link", "TEXT", "")
OPENIDS = st.from_regex(r"o[A-Za-z0-9_-]{27}", fullmatch=True)
HOSTILE = st.sampled_from([
    '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "<?xml version='1.0' encoding='utf-8'?>", "\ufeff", "<xml>", "</xml>", "]]>", "&lt;", "&#0;",
    "\x00", "<![CDATA[", "<xml><xml>", "",
])


def counts(app: Flask) -> tuple[int, int, int]:
    with app.extensions["linli"].sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (InboundMessage, Ticket, OutboxMessage))


def checked(app: Flask, send: Callable[[], requests.Response]) -> requests.Response:
    """Send once: no 5xx, an answer within WeChat's limit, and nothing written when refused."""
    before = counts(app)
    started = time.monotonic()
    response = send()
    elapsed = time.monotonic() - started
    assert response.status_code < 500, response.text[:200]
    assert elapsed < WECHAT_LIMIT
    event(f"HTTP {response.status_code}")
    if response.status_code != 200:
        assert response.status_code in (400, 403, 404, 413)
        assert counts(app) == before
    return response


@st.composite
def xml_documents(draw: st.DrawFn) -> str:
    """Mostly WeChat-shaped XML: known and unknown fields, escaped, CDATA or raw, hostile bits."""
    children = []
    if draw(st.booleans()):  # half start from a well-formed message, so the dialogue is reached
        children += [f"<ToUserName>{ACCOUNT}</ToUserName>",
                     f"<FromUserName>{draw(OPENIDS)}</FromUserName>",
                     f"<CreateTime>{draw(st.integers(0, 2**40))}</CreateTime>",
                     f"<MsgType>{draw(st.sampled_from(MSG_TYPES))}</MsgType>",
                     f"<Content>{escape(draw(st.text(max_size=300)))}</Content>",
                     f"<MsgId>{draw(st.integers(1, 2**63))}</MsgId>"]
    for _ in range(draw(st.integers(0, 6))):
        tag = draw(st.sampled_from(FIELDS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}",
                                                            fullmatch=True))
        if tag == "MsgType":
            value = draw(st.sampled_from(MSG_TYPES))
        elif tag in ("CreateTime", "MsgId", "AgentID"):
            value = str(draw(st.integers(-2**70, 2**70)))
        else:
            value = draw(st.text(max_size=80))
        wrap = draw(st.sampled_from(["escape", "cdata", "raw"]))
        if wrap == "escape":
            value = escape(value)
        elif wrap == "cdata" and "]]>" not in value:
            value = f"<![CDATA[{value}]]>"
        children.append(f"<{tag}>{value}</{tag}>")
    root = draw(st.sampled_from(["xml", "xml", "xml", "root", "XML"]))
    return draw(HOSTILE) + f"<{root}>" + "".join(children) + f"</{root}>" + draw(HOSTILE)


def _query(token: str) -> dict[str, str]:
    timestamp, nonce = "1764300000", "fuzz-nonce"
    return {"timestamp": timestamp, "nonce": nonce, "signature": sign(token, timestamp, nonce)}


# --- /wechat ----------------------------------------------------------------------------------

def test_wechat_survives_any_query_and_body(server: str, app: Flask) -> None:
    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(["timestamp", "nonce", "signature", "echostr",
                                                   "encrypt_type", "msg_signature", "openid"]),
                                  st.text(max_size=60)),
           body=st.binary(max_size=3000) | xml_documents().map(str.encode))
    def run(params: dict[str, str], body: bytes) -> None:
        response = checked(app, lambda: requests.post(f"{server}/wechat", params=params, data=body,
                                                       timeout=10))
        assert response.status_code == 403  # no signature holds by chance
    run()


def test_wechat_signed_xml_is_answered_or_refused_cleanly(server: str, app: Flask) -> None:
    token = app.extensions["linli"].config.wechat.token

    @FUZZ
    @given(body=xml_documents(), padding=st.sampled_from([0, 0, 0, 70_000]))
    def run(body: str, padding: int) -> None:
        data = (body + " " * padding).encode("utf-8")
        response = checked(app, lambda: requests.post(f"{server}/wechat", params=_query(token),
                                                       data=data, timeout=10))
        if padding:
            assert response.status_code == 413
    run()


def test_wechat_any_text_gets_an_answer_in_both_modes(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wechat
    peers = [WeChatPeer(server, conf.token, conf.app_id),
             WeChatPeer(server, conf.token, conf.app_id, conf.encoding_aes_key)]

    @FUZZ
    @given(text=st.text(max_size=1200), openid=OPENIDS, safe=st.booleans())
    def run(text: str, openid: str, safe: bool) -> None:
        peer = peers[safe]
        started = time.monotonic()
        reply = peer.post(text_xml(text, openid=openid))
        assert time.monotonic() - started < WECHAT_LIMIT
        assert reply.status in (200, 400), reply.body[:200]  # 400: characters XML cannot carry
        if reply.status == 200:
            assert reply.body == "success" or reply.content
    run()


def test_wechat_safe_mode_refuses_forged_or_broken_envelopes(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wechat
    crypto = WeChatCrypto(conf.token, conf.encoding_aes_key, conf.app_id)

    @FUZZ
    @given(inner=xml_documents(), tamper=st.sampled_from(["none", "signature", "cipher", "appid"]),
           junk=st.text(max_size=40))
    def run(inner: str, tamper: str, junk: str) -> None:
        params = _query(conf.token)
        if tamper == "appid":
            crypto_used = WeChatCrypto(conf.token, conf.encoding_aes_key, "wxSomeoneElse0000")
        else:
            crypto_used = crypto
        encrypt = xml_fields(crypto_used.encrypt_message(inner, params["nonce"],
                                                         params["timestamp"]))["Encrypt"]
        if tamper == "cipher":
            encrypt = encrypt[:-8] + escape(junk)
        signature = sign(conf.token, params["timestamp"], params["nonce"], encrypt)
        if tamper == "signature":
            signature = "0" * 40
        params.update(encrypt_type="aes", msg_signature=signature)
        body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{escape(encrypt)}</Encrypt></xml>"
        response = checked(app, lambda: requests.post(f"{server}/wechat", params=params,
                                                       data=body.encode("utf-8"), timeout=10))
        if tamper in ("signature", "appid"):
            assert response.status_code in (400, 403)
    run()


# --- /wecom -----------------------------------------------------------------------------------

def test_wecom_refuses_unsigned_and_survives_signed_junk(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wecom
    crypto = WeChatCrypto(conf.token, conf.encoding_aes_key, conf.corp_id)

    @FUZZ
    @given(inner=xml_documents(), signed_right=st.booleans(),
           signature=st.text(alphabet="0123456789abcdef", max_size=41))
    def run(inner: str, signed_right: bool, signature: str) -> None:
        timestamp, nonce = "1764300000", "fuzz"
        encrypt = xml_fields(crypto.encrypt_message(inner, nonce, timestamp))["Encrypt"]
        if signed_right:
            signature = sign(conf.token, timestamp, nonce, encrypt)
        params = {"timestamp": timestamp, "nonce": nonce, "msg_signature": signature}
        body = f"<xml><ToUserName>{conf.corp_id}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
        response = checked(app, lambda: requests.post(f"{server}/wecom", params=params,
                                                       data=body.encode("utf-8"), timeout=10))
        if not signed_right:
            assert response.status_code == 403
    run()


# --- /wecom/bot -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12)


@st.composite
def bot_messages(draw: st.DrawFn) -> Any:
    """A smart-robot callback with some fields right, some missing, some of the wrong type."""
    message: dict[str, Any] = {
        "msgid": draw(st.text(max_size=140) | JSON), "chattype": draw(st.sampled_from(
            ["group", "single", ""]) | JSON),
        "from": draw(st.fixed_dictionaries({"userid": st.text(max_size=70) | JSON}) | JSON),
        "msgtype": draw(st.sampled_from(["text", "mixed", "image", "stream", "event"]) | JSON),
        "text": draw(st.fixed_dictionaries({"content": st.text(max_size=200) | JSON}) | JSON),
        "chatid": draw(st.text(max_size=140) | JSON),
        "response_url": draw(st.sampled_from(["https://qyapi.weixin.qq.com/cgi-bin/aibot/response",
                                              "javascript:alert(1)", "", "http://"]) | JSON),
        "mixed": draw(st.fixed_dictionaries({"msg_item": st.lists(JSON, max_size=3)}) | JSON),
    }
    for key in draw(st.lists(st.sampled_from(sorted(message)), max_size=3)):
        message.pop(key, None)
    return draw(st.just(message) | JSON)


def test_wecom_bot_survives_any_json(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wecom.bot
    key = WeChatCrypto(conf.token, conf.encoding_aes_key, "").key

    @FUZZ
    @given(message=bot_messages(), signed_right=st.booleans(), raw=st.booleans())
    def run(message: Any, signed_right: bool, raw: bool) -> None:
        timestamp, nonce = "1764300000", "fuzz"
        plain = json.dumps(message, ensure_ascii=False)
        encrypt = to_text(PrpCrypto(key).encrypt(plain, ""))
        signature = sign(conf.token, timestamp, nonce, encrypt) if signed_right else "0" * 40
        params = {"timestamp": timestamp, "nonce": nonce, "msg_signature": signature}
        body = plain if raw else json.dumps({"encrypt": encrypt})
        response = checked(app, lambda: requests.post(f"{server}/wecom/bot", params=params,
                                                       data=body.encode("utf-8"), timeout=10))
        if not signed_right:
            assert response.status_code in (400, 403)
    run()
