"""The WeCom channels: /wecom (the app) and /wecom/bot (the smart robot), over real HTTP.

Protocol behaviour only: signatures, decryptable and signed replies, one inbound row per
message however often it arrives, and every kind of bad input. What the dialogue says to
staff is tested with the dialogue.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from models import InboundMessage
from models.messages import NONCE_ONLY
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import to_text

from tests.conftest import SAMPLE, Clock, make_app
from tests.factories import sign, xml_fields
from tests.fakes import FakeWeChat, Served
from tests.wecom_factories import (GROUP, RESPONSE_URL, STAFF, WeComBotPeer, WeComPeer,
                                   app_event_xml, app_peer, app_text_xml, bot_peer, bot_text)


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about signatures, encryption and bad input,
    the same on either database."""
    return sqlite_database

SAMPLE_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6"
    "IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTd"
    "aXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHz"
    "kVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGA"
    "POQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")


def count(app: Flask) -> int:
    """The messages taken in (not the nonces a retry came under, kept spent beside them)."""
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).where(InboundMessage.status != NONCE_ONLY))


def rows(app: Flask) -> list[InboundMessage]:
    with app.extensions["linli"].sessions() as session:
        return list(session.scalars(select(InboundMessage).where(InboundMessage.status != NONCE_ONLY)
                                    .order_by(InboundMessage.id)))


# --- /wecom: URL check ------------------------------------------------------------------------

def test_app_url_check_answers_the_decrypted_echostr_fast(server: str, app: Flask) -> None:
    started = time.monotonic()
    response = app_peer(server, app).url_check("1616140317555161061")
    assert time.monotonic() - started < 1.0
    assert (response.status_code, response.text) == (200, "1616140317555161061")


def test_app_url_check_refuses_a_wrong_signature(server: str, app: Flask) -> None:
    response = app_peer(server, app).url_check("1616140317555161061", signature="0" * 40)
    assert response.status_code == 403
    assert "1616140317555161061" not in response.text


def test_published_url_check_vector(sample_server: tuple[str, Flask]) -> None:
    url, _ = sample_server
    params = {"msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
              "timestamp": "1411443780", "nonce": "437374425",
              "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="}
    response = requests.get(f"{url}/wecom", params=params, timeout=10)
    assert (response.status_code, response.text) == (200, "5927782489442352469")
    bad = dict(params, msg_signature="dd6b9c95b495b3f7e2901bfbc76c664930ffdb97")
    assert requests.get(f"{url}/wecom", params=bad, timeout=10).status_code == 403


def test_url_check_with_garbage_echostr_is_400(server: str, app: Flask) -> None:
    token = app.extensions["linli"].config.wecom.token
    for junk in ("", "not-base64!!", "QUJD", "A" * 64):
        params = {"timestamp": "1", "nonce": "2", "echostr": junk,
                  "msg_signature": sign(token, "1", "2", junk)}
        assert requests.get(f"{server}/wecom", params=params, timeout=10).status_code == 400, junk


# --- /wecom: messages -------------------------------------------------------------------------

def test_published_message_vector_is_decrypted_and_answered(sample_server, clock: Clock) -> None:
    url, app = sample_server
    clock.now = datetime.fromtimestamp(1411525903, timezone.utc)  # the vector's own time
    params = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
              "timestamp": "1411525903", "nonce": "461056294"}
    body = f"<xml><ToUserName><![CDATA[{SAMPLE['corp_id']}]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>"
    response = requests.post(f"{url}/wecom", params=params, data=body, timeout=30)
    assert response.status_code == 200
    fields = xml_fields(response.text)
    assert fields["MsgSignature"] == sign(SAMPLE["token"], fields["TimeStamp"], "461056294",
                                          fields["Encrypt"])
    peer = WeComPeer(url, SAMPLE["token"], SAMPLE["key"], SAMPLE["corp_id"])
    plain = xml_fields(peer.crypto.decrypt_message({"Encrypt": fields["Encrypt"]},
                                                   fields["MsgSignature"], fields["TimeStamp"],
                                                   "461056294"))
    assert (plain["ToUserName"], plain["FromUserName"]) == ("messense", SAMPLE["corp_id"])
    assert plain["MsgType"] == "text" and plain["Content"]
    [row] = rows(app)
    assert (row.channel, row.sender, row.content) == ("wecom", "messense", "test")
    assert row.dedupe_key == "wecom:msg:4363689963896700987"


def test_app_text_gets_an_encrypted_signed_reply(server: str, app: Flask) -> None:
    response = app_peer(server, app).post(app_text_xml("待办"))
    assert response.status == 200
    assert "<Encrypt>" in response.body and "<Content>" not in response.body
    assert response.content  # decrypted with the corp id, signature checked by the peer
    [row] = rows(app)
    assert (row.channel, row.sender, row.msg_type, row.content) == ("wecom", STAFF, "text", "待办")


def test_app_retries_make_one_row_and_the_same_reply(server: str, app: Flask) -> None:
    peer = app_peer(server, app)
    xml = app_text_xml("接单 #1", msg_id=7_300_000_000_000_000_999, create_time=1764300000)
    replies = [peer.post(xml).content for _ in range(3)]
    assert replies[0] and replies == [replies[0]] * 3
    assert [r.dedupe_key for r in rows(app)] == ["wecom:msg:7300000000000000999"]


def test_app_concurrent_retries_make_one_row(server: str, app: Flask) -> None:
    peer = app_peer(server, app)
    xml = app_text_xml("待办", msg_id=7_300_000_000_000_000_998)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: peer.post(xml), range(3)))
    assert all(a.status == 200 for a in answers)
    assert count(app) == 1


def test_app_events_are_keyed_on_sender_time_and_event(server: str, app: Flask) -> None:
    peer = app_peer(server, app)
    for xml in (app_event_xml("enter_agent", create_time=1764300000),
                app_event_xml("enter_agent", create_time=1764300000),
                app_event_xml("enter_agent", create_time=1764300060),
                app_event_xml("enter_agent", userid="LiNa", create_time=1764300000)):
        assert peer.post(xml).status == 200
    assert [r.dedupe_key for r in rows(app)] == [
        f"wecom:event:{STAFF}:1764300000:enter_agent", f"wecom:event:{STAFF}:1764300060:enter_agent",
        "wecom:event:LiNa:1764300000:enter_agent"]


def test_app_unknown_message_type_gets_a_clear_answer(server: str, app: Flask) -> None:
    xml = app_text_xml("x").replace("<MsgType><![CDATA[text]]></MsgType>",
                                    "<MsgType><![CDATA[hologram]]></MsgType>")
    response = app_peer(server, app).post(xml)
    assert response.status == 200 and response.content
    assert [r.msg_type for r in rows(app)] == ["unknown"]


def test_app_ten_thousand_characters_get_a_clear_answer(server: str, app: Flask) -> None:
    response = app_peer(server, app).post(app_text_xml("3栋电梯坏了" + "啊" * 9994))
    assert response.status == 200 and response.content
    assert count(app) == 0


def test_app_wrong_or_missing_msg_signature_is_403(server: str, app: Flask) -> None:
    peer = app_peer(server, app)
    assert peer.post(app_text_xml("待办"), msg_signature="f" * 40).status == 403
    response = requests.post(f"{server}/wecom", data=app_text_xml("待办").encode(), timeout=10)
    assert response.status_code == 403
    assert count(app) == 0


def test_app_undecryptable_is_400(server: str, app: Flask) -> None:
    for encrypted in ("not-base64!!", "QUJD", "A" * 64):
        assert app_peer(server, app).post("", encrypted=encrypted).status == 400, encrypted
    assert count(app) == 0


def test_app_message_for_another_corp_is_400(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wecom
    stranger = WeComPeer(server, conf.token, conf.encoding_aes_key, "wwSomeoneElse",
                         clock=app.extensions["linli"].clock)
    assert stranger.post(app_text_xml("待办")).status == 400
    assert count(app) == 0


BAD_PLAINTEXTS = [
    "not xml at all",
    "<xml><MsgType>text</MsgType></xml>",
    "<note><FromUserName>a</FromUserName><MsgType>text</MsgType></note>",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName>'
    "<MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",
    "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
    "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>1</CreateTime>"
    "<MsgId>twelve</MsgId></xml>",
    f"<xml><FromUserName>{'u' * 65}</FromUserName><MsgType>text</MsgType><CreateTime>1</CreateTime>"
    "<MsgId>1</MsgId></xml>",
    "<xml><FromUserName>a</FromUserName><MsgType>event</MsgType><CreateTime>1</CreateTime></xml>",
    "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>1</CreateTime>"
    f"<MsgId>{'9' * 300}</MsgId></xml>",
    f"<xml><FromUserName>a</FromUserName><MsgType>event</MsgType><CreateTime>{'9' * 300}</CreateTime>"
    "<Event>click</Event></xml>",
]


def test_app_bad_plaintexts_are_400(server: str, app: Flask) -> None:
    for plain in BAD_PLAINTEXTS:
        assert app_peer(server, app).post(plain).status == 400, plain
    assert count(app) == 0


def test_app_malformed_envelope_is_400(server: str, app: Flask) -> None:
    token = app.extensions["linli"].config.wecom.token
    params = {"timestamp": "1", "nonce": "2", "msg_signature": sign(token, "1", "2", "")}
    for body in ("<xml><Encrypt>", "plain words", "<xml><ToUserName>x</ToUserName></xml>"):
        response = requests.post(f"{server}/wecom", params=params, data=body, timeout=10)
        assert response.status_code == 400, body
    assert count(app) == 0


def test_app_body_over_64kb_is_413(server: str, app: Flask) -> None:
    assert app_peer(server, app).post(app_text_xml("电梯" * 20_000)).status == 413
    assert count(app) == 0


def test_app_slow_handling_answers_an_empty_200_once(slow_server) -> None:
    url, app = slow_server
    peer = app_peer(url, app)
    xml = app_text_xml("待办", msg_id=7_300_000_000_000_000_997)
    answers = [peer.post(xml) for _ in range(3)]
    assert [(a.status, a.body) for a in answers] == [(200, "")] * 3
    assert count(app) == 1


# --- /wecom/bot: URL check --------------------------------------------------------------------

def test_bot_url_check_uses_an_empty_receive_id(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    response = peer.url_check("8832616241537346543")
    assert (response.status_code, response.text) == (200, "8832616241537346543")
    assert peer.url_check("8832616241537346543", signature="0" * 40).status_code == 403


def test_bot_url_check_refuses_an_echostr_for_another_receive_id(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    echostr = to_text(PrpCrypto(peer.crypto.key).encrypt("42", "ww0000000000demo"))
    params = {"timestamp": "1", "nonce": "2", "echostr": echostr,
              "msg_signature": sign(peer.token, "1", "2", echostr)}
    response = requests.get(f"{server}/wecom/bot", params=params, timeout=10)
    assert response.status_code == 400 and "42" not in response.text


# --- /wecom/bot: messages ---------------------------------------------------------------------

def test_bot_text_gets_an_encrypted_signed_stream_reply(server: str, app: Flask) -> None:
    response = bot_peer(server, app).post(bot_text("待办"))
    assert response.status == 200
    assert "待办" not in response.body  # the envelope is ciphertext
    message = response.message  # decrypted for receive id "", msgsignature checked by the peer
    assert message is not None and message["msgtype"] == "stream"
    stream = message["stream"]
    assert stream["finish"] is True and isinstance(stream["id"], str) and stream["id"]
    assert isinstance(stream["content"], str) and stream["content"].strip()
    [row] = rows(app)
    assert (row.channel, row.sender, row.msg_type, row.content) == ("wecom_bot", STAFF, "text", "待办")


def test_bot_reply_echoes_the_request_timestamp_and_nonce(server: str, app: Flask,
                                                          clock: Clock) -> None:
    timestamp = str(int(clock().timestamp()) - 7)
    response = bot_peer(server, app).post(bot_text("待办"), timestamp=timestamp, nonce="abc123")
    envelope = json.loads(response.body)
    assert (envelope["timestamp"], envelope["nonce"]) == (timestamp, "abc123")


def test_bot_inbound_carries_chat_and_response_url(server: str, app: Flask,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import dialogue
    seen: list[Any] = []
    real = dialogue.respond

    def spy(services, session, inbound):  # type: ignore[no-untyped-def]
        seen.append(inbound)
        return real(services, session, inbound)

    monkeypatch.setattr(dialogue, "respond", spy)
    bot_peer(server, app).post(bot_text("接单 #1", msgid="MSGID-inbound-1"))
    [inbound] = seen
    assert (inbound.channel, inbound.sender, inbound.kind) == ("wecom_bot", STAFF, "text")
    assert (inbound.key, inbound.text) == ("wecom_bot:msg:MSGID-inbound-1", "接单 #1")
    assert (inbound.chat_id, inbound.response_url) == (GROUP, RESPONSE_URL)


MENTIONS = [
    ("@邻里通 接单 #3", "接单 #3"),
    ("@邻里通\u2005完成 #3 已修好", "完成 #3 已修好"),
    ("接单 #3 @邻里通", "接单 #3"),
    ("@邻里通 @王师傅 回复 #3 明早上门\n请留人", "回复 #3 明早上门\n请留人"),
    ("@邻里通", ""),
]


def test_bot_strips_the_mentions(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    for content, _ in MENTIONS:
        assert peer.post(bot_text(content, mention=None)).status == 200
    assert [r.content for r in rows(app)] == [expected for _, expected in MENTIONS]


def test_bot_single_chat_needs_no_chatid(server: str, app: Flask) -> None:
    response = bot_peer(server, app).post(bot_text("待办", chatid=None, mention=None))
    assert response.status == 200 and response.content
    assert count(app) == 1


def test_bot_mixed_message_uses_its_words(server: str, app: Flask) -> None:
    message = bot_text("x")
    del message["text"]
    message.update(msgtype="mixed", mixed={"msg_item": [
        {"msgtype": "text", "text": {"content": "@邻里通 完成 #2"}},
        {"msgtype": "image", "image": {"url": "https://example.invalid/photo"}}]})
    assert bot_peer(server, app).post(message).content
    assert [r.content for r in rows(app)] == ["完成 #2"]


def test_bot_retries_make_one_row_and_the_same_reply(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    message = bot_text("接单 #1", msgid="CAIQ16HMjQYY/retry=")
    answers = [peer.post(message) for _ in range(3)]
    assert answers[0].content and [a.message for a in answers] == [answers[0].message] * 3
    assert [r.dedupe_key for r in rows(app)] == ["wecom_bot:msg:CAIQ16HMjQYY/retry="]


def test_bot_concurrent_retries_make_one_row(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    message = bot_text("待办", msgid="CAIQ16HMjQYY/concurrent=")
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: peer.post(message), range(3)))
    assert all(a.status == 200 for a in answers)
    assert count(app) == 1


def test_bot_unknown_msgtype_gets_a_clear_answer(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    for msgtype in ("hologram", "image"):
        message = bot_text("x")
        del message["text"]
        message["msgtype"] = msgtype
        response = peer.post(message)
        assert response.status == 200 and response.content, msgtype
    assert [r.msg_type for r in rows(app)] == ["unknown", "unknown"]


def test_bot_stream_refresh_and_events_answer_empty(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    refresh = {"msgid": "m1", "msgtype": "stream", "stream": {"id": "s1"}, "from": {"userid": STAFF}}
    event = {"msgid": "m2", "msgtype": "event", "event": {"eventtype": "enter_chat"},
             "from": {"userid": STAFF}}
    for message in (refresh, event):
        response = peer.post(message)
        assert (response.status, response.body) == (200, "")
    assert count(app) == 0


def test_bot_huge_content_gets_a_clear_answer(server: str, app: Flask) -> None:
    response = bot_peer(server, app).post(bot_text("3栋电梯坏了" + "a" * 20_000))
    assert response.status == 200 and response.content
    assert count(app) == 0


def _without(message: dict[str, Any], *path: str) -> dict[str, Any]:
    node = message
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return message


def _with(message: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    node = message
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return message


BAD_CALLBACKS = {
    "not json": lambda: "this is not json",
    "a list": lambda: "[1, 2, 3]",
    "deep nesting": lambda: "[" * 20_000 + "]" * 20_000,
    "no msgid": lambda: _without(bot_text("待办"), "msgid"),
    "numeric msgid": lambda: _with(bot_text("待办"), 12345, "msgid"),
    "empty msgid": lambda: _with(bot_text("待办"), "", "msgid"),
    "long msgid": lambda: _with(bot_text("待办"), "m" * 500, "msgid"),
    "no msgtype": lambda: _without(bot_text("待办"), "msgtype"),
    "msgtype list": lambda: _with(bot_text("待办"), ["text"], "msgtype"),
    "no from": lambda: _without(bot_text("待办"), "from"),
    "from string": lambda: _with(bot_text("待办"), STAFF, "from"),
    "userid number": lambda: _with(bot_text("待办"), 7, "from", "userid"),
    "userid too long": lambda: _with(bot_text("待办"), "u" * 65, "from", "userid"),
    "no text": lambda: _without(bot_text("待办"), "text"),
    "text string": lambda: _with(bot_text("待办"), "待办", "text"),
    "content null": lambda: _with(bot_text("待办"), None, "text", "content"),
    "content number": lambda: _with(bot_text("待办"), 3, "text", "content"),
    "content nul": lambda: _with(bot_text("待办"), "待\x00办", "text", "content"),
    "content lone surrogate": lambda: _with(bot_text("待办"), "待\ud800办", "text", "content"),
    "group without chatid": lambda: _without(bot_text("待办"), "chatid"),
    "chatid number": lambda: _with(bot_text("待办"), 1, "chatid"),
    "response_url number": lambda: _with(bot_text("待办"), 1, "response_url"),
    "response_url not http": lambda: _with(bot_text("待办"), "file:///etc/passwd", "response_url"),
    "mixed without items": lambda: _with(_with(bot_text("x"), "mixed", "msgtype"), {}, "mixed"),
    "mixed item not object": lambda: _with(_with(bot_text("x"), "mixed", "msgtype"),
                                           {"msg_item": ["text"]}, "mixed"),
}


def test_bot_bad_callbacks_are_400_and_record_nothing(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    for name, build in BAD_CALLBACKS.items():
        response = peer.post(build())
        assert response.status == 400, name
        assert response.body.startswith("bad request"), name
    assert count(app) == 0


def test_bot_bad_envelopes_are_400(server: str, app: Flask, clock: Clock) -> None:
    peer = bot_peer(server, app)
    now = str(int(clock().timestamp()))
    for body in ("not json", "[]", "{}", '{"encrypt": 5}', '{"encrypt": ""}',
                 '{"encrypt": "not-base64!!"}', '{"encrypt": "QUJD"}', b"\xff\xfe{}"):
        try:
            encrypted = json.loads(body)["encrypt"]
        except (ValueError, KeyError, TypeError):
            encrypted = ""
        signature = sign(peer.token, now, "2", encrypted if isinstance(encrypted, str) else "")
        response = peer.post(bot_text("待办"), timestamp=now, nonce="2", msg_signature=signature,
                             body=body)
        assert response.status == 400, body
    assert count(app) == 0


def test_bot_wrong_or_missing_signature_is_403(server: str, app: Flask) -> None:
    peer = bot_peer(server, app)
    assert peer.post(bot_text("待办"), msg_signature="0" * 40).status == 403
    response = requests.post(f"{server}/wecom/bot", data=json.dumps({"encrypt": "QUJD"}),
                             timeout=10)
    assert response.status_code == 403
    assert count(app) == 0


def test_bot_callback_signed_with_the_app_token_is_403(server: str, app: Flask) -> None:
    conf = app.extensions["linli"].config.wecom
    wrong = WeComBotPeer(server, conf.token, conf.bot.encoding_aes_key,
                         clock=app.extensions["linli"].clock)
    assert wrong.post(bot_text("待办")).status == 403
    assert count(app) == 0


def test_bot_body_over_64kb_is_413(server: str, app: Flask) -> None:
    assert bot_peer(server, app).post(bot_text("电梯" * 20_000)).status == 413
    assert count(app) == 0


def test_bot_slow_handling_answers_empty_and_the_reply_goes_to_response_url(
        slow_server, fake_wechat: FakeWeChat) -> None:
    url, app = slow_server
    peer = bot_peer(url, app)
    response_url = fake_wechat.url + "aibot/response?response_code=RC-slow"
    message = dict(bot_text("待办", msgid="CAIQ16HMjQYY/slow="), response_url=response_url)
    answers = [peer.post(message) for _ in range(3)]
    assert [(a.status, a.body) for a in answers] == [(200, "")] * 3
    assert count(app) == 1
    deadline = time.monotonic() + 10
    while not fake_wechat.sent("aibot/response") and time.monotonic() < deadline:
        time.sleep(0.05)
    late = fake_wechat.sent("aibot/response")[0]  # the outbox's work; the channel only routes it
    assert late["msgtype"] == "markdown" and late["markdown"]["content"].strip()


def test_an_unconfigured_robot_is_404(database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    app = make_app(database, fake_wechat, clock, settings={"wecom.bot": {}})
    served = Served(app)
    try:
        for method in ("get", "post"):
            response = requests.request(method, f"{served.url}/wecom/bot", timeout=10,
                                        params={"msg_signature": "x"}, data="{}")
            assert response.status_code == 404, method
    finally:
        served.close()
        app.extensions["linli"].close()


def test_secrets_never_reach_the_log(server: str, app: Flask, caplog) -> None:
    conf = app.extensions["linli"].config.wecom
    caplog.set_level("DEBUG")
    app_peer(server, app).post(app_text_xml("待办"), msg_signature="f" * 40)
    app_peer(server, app).post("broken")
    app_peer(server, app).say("待办")
    bot_peer(server, app).post("broken")
    bot_peer(server, app).say("待办")
    for secret in (conf.token, conf.encoding_aes_key, conf.secret, conf.bot.token,
                   conf.bot.encoding_aes_key):
        assert secret not in caplog.text
