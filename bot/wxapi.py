"""The Official Account's HTTP API, reached through the configured api_base_url."""
from __future__ import annotations

import logging

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """WeChat did not take the message; `permanent` says whether retrying can help."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


# errcodes that no retry will fix: the user blocked us, or is not a follower
PERMANENT_ERRORS = frozenset({43004, 40003, 45015, 45047})


class _Client(WeChatClient):
    """wechatpy's client with the token endpoint under api_base_url too."""

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatApi:
    """Send messages to residents through the Official Account API."""

    def __init__(self, app_id: str, app_secret: str, base_url: str, timeout: float = 5.0) -> None:
        self._client = _Client(app_id, app_secret, timeout=timeout)
        self._client.API_BASE_URL = base_url

    def send_text(self, openid: str, text: str) -> None:
        """Send a customer-service text message (valid within WeChat's 48-hour window)."""
        try:
            self._client.message.send_text(openid, text)
        except WeChatClientException as err:
            code = err.errcode
            raise DeliveryError(f"wechat errcode {code}", permanent=code in PERMANENT_ERRORS) from None
        except requests.RequestException as err:
            raise DeliveryError(f"network: {type(err).__name__}") from None
