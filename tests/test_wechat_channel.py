"""The /wechat channel: signatures, safe mode, and every kind of bad input."""
from __future__ import annotations

import pytest

from datetime import datetime, timezone

import requests
from flask import Flask
from sqlalchemy import func, select

from models import InboundMessage, Ticket
from models.messages import NONCE_ONLY
from tests.conftest import Clock
from tests.factories import WeChatPeer, event_xml, sign, text_xml


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about signatures, safe mode and bad input,
    the same on either database."""
    return sqlite_database


def count(app: Flask, model: type) -> int:
    """Rows of the model; of inbound_messages, the messages (not a retry's spent nonce)."""
    spent = [InboundMessage.status != NONCE_ONLY] if model is InboundMessage else []
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*spent))


def test_url_check_answers_echostr_when_signed(server: str, peer: WeChatPeer) -> None:
    params = {"timestamp": "1410685589", "nonce": "abc", "echostr": "hello-echo"}
    params["signature"] = sign(peer.token, params["timestamp"], params["nonce"])
    response = requests.get(f"{server}/wechat", params=params, timeout=10)
    assert response.status_code == 200
    assert response.text == "hello-echo"


def test_url_check_refuses_wrong_signature(server: str) -> None:
    params = {"timestamp": "1410685589", "nonce": "abc", "echostr": "hello-echo",
              "signature": "0" * 40}
    response = requests.get(f"{server}/wechat", params=params, timeout=10)
    assert response.status_code == 403
    assert "hello-echo" not in response.text


def test_published_signature_vector(database, fake_wechat, clock) -> None:
    """WeChat's sample: token "test", timestamp 1410685589, nonce "test"."""
    from tests.conftest import make_app
    from tests.fakes import Served
    app = make_app(database, fake_wechat, clock, settings={"wechat.token": "test",
                                                            "sim.enabled": False})
    served = Served(app)
    try:
        good = {"timestamp": "1410685589", "nonce": "test", "echostr": "ok",
                "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"}
        assert requests.get(f"{served.url}/wechat", params=good, timeout=10).text == "ok"
        bad = dict(good, signature="f21891de399b4e33a1a93c9a7b8a8fffb5a443fe")
        assert requests.get(f"{served.url}/wechat", params=bad, timeout=10).status_code == 403
    finally:
        served.close()
        app.extensions["linli"].engine.dispose()


def test_published_aes_vector_is_decrypted_and_answered(database, fake_wechat, clock) -> None:
    """WeChat's safe-mode sample message (from wechatpy's tests) decrypts to "test" from messense."""
    from tests.conftest import make_app
    from tests.fakes import Served
    from wechatpy.crypto import WeChatCrypto
    from tests.factories import xml_fields
    token, key, app_id = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
    clock.now = datetime.fromtimestamp(1411525903, timezone.utc)  # the vector's own time
    app = make_app(database, fake_wechat, clock, settings={
        "wechat.token": token, "wechat.encoding_aes_key": key, "wechat.app_id": app_id,
        "sim.enabled": False})  # credentials that are not placeholders: no simulator
    served = Served(app)
    encrypt = ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6"
               "IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTd"
               "aXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHz"
               "kVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGA"
               "POQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
    params = {"timestamp": "1411525903", "nonce": "461056294", "encrypt_type": "aes",
              "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
              "signature": sign(token, "1411525903", "461056294")}
    body = f"<xml><ToUserName><![CDATA[{app_id}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    try:
        response = requests.post(f"{served.url}/wechat", params=params, data=body, timeout=10)
        assert response.status_code == 200
        fields = xml_fields(response.text)
        assert fields["MsgSignature"] == sign(token, fields["TimeStamp"], "461056294", fields["Encrypt"])
        plain = WeChatCrypto(token, key, app_id).decrypt_message(
            {"Encrypt": fields["Encrypt"]}, fields["MsgSignature"], fields["TimeStamp"], "461056294")
        assert xml_fields(plain)["ToUserName"] == "messense"
        with app.extensions["linli"].sessions() as session:
            row = session.scalars(select(InboundMessage)).one()
        assert (row.sender, row.content) == ("messense", "test")
    finally:
        served.close()
        app.extensions["linli"].engine.dispose()


def test_plaintext_report_gets_a_ticket(peer: WeChatPeer, app: Flask) -> None:
    reply = peer.say("3栋电梯坏了，有人被困")
    assert reply is not None and "#1" in reply and "电梯" in reply
    assert count(app, Ticket) == 1


def test_safe_mode_report_gets_an_encrypted_reply(safe_peer: WeChatPeer, app: Flask) -> None:
    response = safe_peer.post(text_xml("3栋电梯坏了，有人被困"))
    assert "<Encrypt>" in response.body and "电梯" not in response.body
    assert response.content is not None and "#1" in response.content
    assert count(app, Ticket) == 1


def test_wrong_signature_is_403_and_changes_nothing(peer: WeChatPeer, app: Flask) -> None:
    response = peer.post(text_xml("3栋电梯坏了"), signature="f" * 40)
    assert response.status == 403
    assert count(app, InboundMessage) == 0


def test_missing_signature_is_403(server: str, app: Flask) -> None:
    response = requests.post(f"{server}/wechat", data=text_xml("3栋电梯坏了").encode(), timeout=10)
    assert response.status_code == 403
    assert count(app, InboundMessage) == 0


def test_wrong_msg_signature_is_403(server: str, safe_peer: WeChatPeer, app: Flask) -> None:
    ts, nonce = "1700000000", "42"
    params = {"timestamp": ts, "nonce": nonce, "signature": sign(safe_peer.token, ts, nonce),
              "encrypt_type": "aes", "msg_signature": "0" * 40}
    body = "<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
    response = requests.post(f"{server}/wechat", params=params, data=body, timeout=10)
    assert response.status_code == 403
    assert count(app, InboundMessage) == 0


def test_undecryptable_aes_is_400(server: str, safe_peer: WeChatPeer, app: Flask,
                                  clock: Clock) -> None:
    ts, nonce = str(int(clock().timestamp())), "42"
    for junk in ("not-base64!!", "QUJD", "A" * 64):
        params = {"timestamp": ts, "nonce": nonce, "signature": sign(safe_peer.token, ts, nonce),
                  "encrypt_type": "aes", "msg_signature": sign(safe_peer.token, ts, nonce, junk)}
        body = f"<xml><Encrypt><![CDATA[{junk}]]></Encrypt></xml>"
        response = requests.post(f"{server}/wechat", params=params, data=body, timeout=10)
        assert response.status_code == 400, junk
    assert count(app, InboundMessage) == 0
    assert requests.get(f"{server}/healthz", timeout=10).status_code == 200


def test_malformed_xml_is_400(peer: WeChatPeer, app: Flask) -> None:
    for body in ("<xml><Content>3栋电梯", "not xml at all", "<note><a>1</a></note>",
                 "<xml><MsgType>text</MsgType></xml>"):
        assert peer.post(body).status == 400, body
    assert count(app, InboundMessage) == 0


def test_a_repeated_field_is_400(peer: WeChatPeer, app: Flask) -> None:
    """Found by the fuzz test: a second MsgType made wechatpy's parser fail (a 500). Which of
    two values counts would be a guess, so the message is refused and nothing is stored."""
    for field, extra in (("MsgType", "<MsgType>text</MsgType>"),
                         ("FromUserName", "<FromUserName>oSomeoneElse</FromUserName>"),
                         ("Content", "<Content>第二段</Content>")):
        body = text_xml("3栋电梯坏了").replace("</xml>", f"{extra}</xml>")
        assert peer.post(body).status == 400, field
    assert count(app, InboundMessage) == 0


def test_entity_bomb_is_refused(peer: WeChatPeer, app: Flask) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>'
            '<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content>'
            '<MsgId>1</MsgId></xml>')
    assert peer.post(bomb).status == 400
    assert count(app, InboundMessage) == 0


def test_external_entity_is_refused(peer: WeChatPeer, app: Flask) -> None:
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
           '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>'
           '<MsgType>text</MsgType><Content>&secret;</Content><MsgId>2</MsgId></xml>')
    response = peer.post(xxe)
    assert response.status == 400
    assert "root:" not in response.body
    assert count(app, InboundMessage) == 0


def test_body_over_64kb_is_413(peer: WeChatPeer, app: Flask) -> None:
    response = peer.post(text_xml("电梯" * 40_000))
    assert response.status == 413
    assert count(app, InboundMessage) == 0


def test_ten_thousand_characters_get_a_clear_answer(peer: WeChatPeer, app: Flask) -> None:
    reply = peer.say("3栋电梯坏了" + "啊" * 9994)
    assert reply is not None and "太长" in reply
    assert count(app, Ticket) == 0


def test_unknown_message_type_gets_a_clear_answer(peer: WeChatPeer, app: Flask) -> None:
    xml = text_xml("x").replace("<MsgType><![CDATA[text]]></MsgType>",
                                "<MsgType><![CDATA[hologram]]></MsgType>")
    reply = peer.post(xml)
    assert reply.status == 200 and reply.content is not None and "文字" in reply.content
    assert count(app, Ticket) == 0


def test_secrets_never_reach_the_log(peer: WeChatPeer, app: Flask, caplog) -> None:
    conf = app.extensions["linli"].config.wechat
    caplog.set_level("DEBUG")
    peer.post(text_xml("3栋电梯坏了"), signature="f" * 40)
    peer.post("<xml>broken")
    peer.say("3栋电梯坏了")
    logged = caplog.text
    for secret in (conf.token, conf.encoding_aes_key, conf.app_secret):
        assert secret not in logged


def test_unsubscribe_event_is_recorded_once(peer: WeChatPeer, app: Flask) -> None:
    from models import Resident
    for _ in range(3):  # WeChat's retries carry the same sender, time and event
        assert peer.post(event_xml("unsubscribe", create_time=1764300000)).body == "success"
    with app.extensions["linli"].sessions() as session:
        resident = session.scalars(select(Resident)).one()
        assert resident.following is False
    assert count(app, InboundMessage) == 1
