"""Builders for WeChat messages and a signed peer that posts them like WeChat does."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import requests
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

OPENID = "oResident0000000000000000001"
ACCOUNT = "gh_linli_demo"
_ids = itertools.count(6_400_000_000_000_000_001)
_nonces = itertools.count(100_000_001)


def fresh_nonce() -> str:
    """A nonce no request of this test run has used (WeChat's are random digits)."""
    return str(next(_nonces))


def stamp(clock: Callable[[], datetime] | None) -> str:
    """A request's timestamp: the app's clock when the test moves it, else now."""
    return str(int(clock().timestamp())) if clock else str(int(time.time()))


def _envelope(openid: str, msg_type: str, inner: str, create_time: int | None,
              msg_id: int | None) -> str:
    msg_id_xml = "" if msg_id == 0 else f"<MsgId>{msg_id or next(_ids)}</MsgId>"
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{inner}{msg_id_xml}</xml>")


def text_xml(content: str, openid: str = OPENID, msg_id: int | None = None,
             create_time: int | None = None) -> str:
    """A text message."""
    return _envelope(openid, "text", f"<Content>{escape(content)}</Content>", create_time, msg_id)


def voice_xml(recognition: str, openid: str = OPENID, msg_id: int | None = None) -> str:
    """A voice message with WeChat's speech recognition text."""
    inner = (f"<MediaId><![CDATA[voice-media]]></MediaId><Format><![CDATA[amr]]></Format>"
             f"<Recognition>{escape(recognition)}</Recognition>")
    return _envelope(openid, "voice", inner, None, msg_id)


def image_xml(media_id: str = "img-media-1", openid: str = OPENID) -> str:
    """An image message."""
    inner = (f"<PicUrl><![CDATA[http://mmbiz.example/{media_id}.jpg]]></PicUrl>"
             f"<MediaId><![CDATA[{media_id}]]></MediaId>")
    return _envelope(openid, "image", inner, None, None)


def location_xml(label: str, openid: str = OPENID, latitude: float = 29.56,
                 longitude: float = 106.55) -> str:
    """A location message (latitude, longitude: where the resident is)."""
    inner = (f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>16</Scale>"
             f"<Label>{escape(label)}</Label>")
    return _envelope(openid, "location", inner, None, None)


def event_xml(event: str, openid: str = OPENID, create_time: int | None = None) -> str:
    """An event (subscribe, unsubscribe, ...); WeChat sends events without a MsgId."""
    return _envelope(openid, "event", f"<Event><![CDATA[{event}]]></Event>", create_time, 0)


def xml_fields(xml: str) -> dict[str, str]:
    """The root's child texts of a reply the bot sent."""
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}


def sign(*parts: str) -> str:
    """WeChat's SHA1 signature over the sorted parts."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


@dataclass
class Reply:
    """What the bot answered: the HTTP status, the reply's text content (if any), the body."""

    status: int
    content: str | None
    body: str


@dataclass
class WeChatPeer:
    """Posts messages to /wechat as WeChat's servers do, in plaintext or safe mode."""

    base_url: str
    token: str
    app_id: str
    aes_key: str | None = None  # set: safe mode
    clock: Callable[[], datetime] | None = None  # the app's clock, which signs the timestamp

    def post(self, xml: str, *, timestamp: str | None = None, nonce: str | None = None,
             signature: str | None = None) -> Reply:
        """Send one message and read the reply (decrypting it in safe mode)."""
        timestamp, nonce = timestamp or stamp(self.clock), nonce or fresh_nonce()
        params = {"timestamp": timestamp, "nonce": nonce,
                  "signature": signature or sign(self.token, timestamp, nonce)}
        body = xml
        if self.aes_key:
            crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
            envelope = crypto.encrypt_message(xml, nonce, timestamp)
            encrypt = xml_fields(envelope)["Encrypt"]
            params.update(encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, encrypt))
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        response = requests.post(f"{self.base_url}/wechat", params=params, timeout=30,
                                 data=body.encode("utf-8"), headers={"Content-Type": "text/xml"})
        return Reply(response.status_code, self._content(response.text, timestamp, nonce),
                     response.text)

    def _content(self, body: str, timestamp: str, nonce: str) -> str | None:
        if not body.startswith("<xml>"):
            return None
        fields = xml_fields(body)
        if self.aes_key:
            crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
            body = crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, fields["MsgSignature"],
                                          fields["TimeStamp"], nonce)
            fields = xml_fields(body)
        return fields.get("Content")

    def say(self, text: str, **kwargs: object) -> str | None:
        """Send a text and return the reply's content."""
        return self.post(text_xml(text, **kwargs)).content  # type: ignore[arg-type]
