"""Builders for WeCom app messages and smart-robot callbacks, and signed peers that post them."""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import requests
from flask import Flask
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import to_text

from tests.factories import Reply, sign, xml_fields

STAFF = "ZhangWei"  # a WeCom UserID
GROUP = "wrkSFfCgAAgrid01"  # a staff group's chatid
BOT_NAME = "@邻里通"
RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC"
_ids = itertools.count(7_300_000_000_000_000_001)
_bot_ids = itertools.count(1)


def _envelope(userid: str, msg_type: str, inner: str, create_time: int | None,
              msg_id: int | None, corp_id: str) -> str:
    msg_id_xml = "" if msg_id == 0 else f"<MsgId>{msg_id or next(_ids)}</MsgId>"
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{inner}{msg_id_xml}"
            f"<AgentID>1000002</AgentID></xml>")


def app_text_xml(content: str, userid: str = STAFF, msg_id: int | None = None,
                 create_time: int | None = None, corp_id: str = "ww0000000000demo") -> str:
    """A text a staff member sends the WeCom app."""
    return _envelope(userid, "text", f"<Content>{escape(content)}</Content>", create_time,
                     msg_id, corp_id)


def app_event_xml(event: str, userid: str = STAFF, create_time: int | None = None,
                  corp_id: str = "ww0000000000demo") -> str:
    """An app event (enter_agent, subscribe, ...); WeCom sends events without a MsgId."""
    return _envelope(userid, "event", f"<Event><![CDATA[{event}]]></Event>", create_time, 0,
                     corp_id)


def bot_text(content: str, userid: str = STAFF, msgid: str | None = None,
             chatid: str | None = GROUP, mention: str | None = BOT_NAME) -> dict[str, Any]:
    """A group message that @-mentions the smart robot, as WeCom's callback carries it."""
    message: dict[str, Any] = {
        "msgid": msgid or f"CAIQ16HMjQYY/NGagIOAgAM{next(_bot_ids):08d}=",
        "aibotid": "AIBOTID", "chattype": "group" if chatid else "single",
        "from": {"userid": userid}, "response_url": RESPONSE_URL, "msgtype": "text",
        "text": {"content": f"{mention} {content}" if mention else content},
    }
    if chatid:
        message["chatid"] = chatid
    return message


@dataclass
class WeComPeer:
    """Posts encrypted XML to /wecom as WeCom's servers do, and decrypts the passive reply."""

    base_url: str
    token: str
    aes_key: str
    corp_id: str

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.corp_id)

    def url_check(self, plain: str, *, signature: str | None = None) -> requests.Response:
        """Send the URL check with an encrypted echostr."""
        return _url_check(f"{self.base_url}/wecom", self.token, self.crypto, self.corp_id, plain,
                          signature)

    def post(self, xml: str, *, timestamp: str | None = None, nonce: str = "987654321",
             msg_signature: str | None = None, encrypted: str | None = None) -> Reply:
        """Encrypt and send one message; read the reply's text content (if any)."""
        timestamp = timestamp or str(int(time.time()))
        if encrypted is None:
            encrypted = xml_fields(self.crypto.encrypt_message(xml, nonce, timestamp))["Encrypt"]
        params = {"timestamp": timestamp, "nonce": nonce,
                  "msg_signature": msg_signature or sign(self.token, timestamp, nonce, encrypted)}
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        response = requests.post(f"{self.base_url}/wecom", params=params, timeout=30,
                                 data=body.encode("utf-8"), headers={"Content-Type": "text/xml"})
        return Reply(response.status_code, self._content(response.text, nonce), response.text)

    def _content(self, body: str, nonce: str) -> str | None:
        if not body.startswith("<xml>"):
            return None
        fields = xml_fields(body)
        assert fields["MsgSignature"] == sign(self.token, fields["TimeStamp"], fields["Nonce"],
                                              fields["Encrypt"])
        plain = self.crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, fields["MsgSignature"],
                                            fields["TimeStamp"], nonce)
        return xml_fields(plain).get("Content")

    def say(self, text: str, **kwargs: Any) -> str | None:
        """Send a text and return the reply's content."""
        return self.post(app_text_xml(text, corp_id=self.corp_id, **kwargs)).content


@dataclass
class BotReply:
    """What /wecom/bot answered: status, the decrypted reply object (if any), the raw body."""

    status: int
    message: dict[str, Any] | None
    body: str

    @property
    def content(self) -> str | None:
        """The text of a stream reply."""
        return self.message["stream"]["content"] if self.message else None


@dataclass
class WeComBotPeer:
    """Posts encrypted JSON callbacks to /wecom/bot as WeCom does for a smart robot."""

    base_url: str
    token: str
    aes_key: str

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, "")

    def url_check(self, plain: str, *, signature: str | None = None) -> requests.Response:
        """Send the URL check with an echostr encrypted for receive id ""."""
        return _url_check(f"{self.base_url}/wecom/bot", self.token, self.crypto, "", plain,
                          signature)

    def encrypt(self, plain: str) -> str:
        """Encrypt a plaintext callback for receive id ""."""
        return to_text(PrpCrypto(self.crypto.key).encrypt(plain, ""))

    def post(self, message: dict[str, Any] | str, *, timestamp: str | None = None,
             nonce: str = "123454321", msg_signature: str | None = None,
             body: bytes | str | None = None) -> BotReply:
        """Encrypt and send one callback (a dict, or raw plaintext); decrypt the reply."""
        timestamp = timestamp or str(int(time.time()))
        plain = message if isinstance(message, str) else json.dumps(message)
        encrypted = self.encrypt(plain)
        params = {"timestamp": timestamp, "nonce": nonce,
                  "msg_signature": msg_signature or sign(self.token, timestamp, nonce, encrypted)}
        data = body if body is not None else json.dumps({"encrypt": encrypted})
        response = requests.post(f"{self.base_url}/wecom/bot", params=params, timeout=30,
                                 data=data.encode("utf-8") if isinstance(data, str) else data,
                                 headers={"Content-Type": "application/json"})
        return BotReply(response.status_code, self._message(response), response.text)

    def _message(self, response: requests.Response) -> dict[str, Any] | None:
        if response.status_code != 200 or not response.text:
            return None
        envelope = response.json()
        assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
        assert envelope["msgsignature"] == sign(self.token, envelope["timestamp"],
                                                envelope["nonce"], envelope["encrypt"])
        plain = self.crypto.decrypt_message({"Encrypt": envelope["encrypt"]},
                                            envelope["msgsignature"], envelope["timestamp"],
                                            envelope["nonce"])
        return json.loads(plain)

    def say(self, text: str, **kwargs: Any) -> str | None:
        """Send a group text that @-mentions the robot and return the reply's content."""
        return self.post(bot_text(text, **kwargs)).content


def _url_check(url: str, token: str, crypto: WeChatCrypto, receive_id: str, plain: str,
               signature: str | None) -> requests.Response:
    timestamp, nonce = str(int(time.time())), "1372623149"
    echostr = to_text(PrpCrypto(crypto.key).encrypt(plain, receive_id))
    params = {"msg_signature": signature or sign(token, timestamp, nonce, echostr),
              "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    return requests.get(url, params=params, timeout=10)


def app_peer(server: str, app: Flask) -> WeComPeer:
    conf = app.extensions["linli"].config.wecom
    return WeComPeer(server, conf.token, conf.encoding_aes_key, conf.corp_id)


def bot_peer(server: str, app: Flask) -> WeComBotPeer:
    conf = app.extensions["linli"].config.wecom.bot
    return WeComBotPeer(server, conf.token, conf.encoding_aes_key)
