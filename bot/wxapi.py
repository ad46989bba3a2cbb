"""The WeChat and WeCom HTTP APIs: the only code that calls them.

Every call goes through the configured `api_base_url` — the token fetch too,
which wechatpy 1.8.18 would otherwise send to the real host. Access tokens live
in the database, shared by every process, so no worker fetches its own.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any, Callable

import requests
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from models import AccessToken, transaction
from settings import WeChat, WeCom

log = logging.getLogger(__name__)

TIMEOUT = 5.0
POOL = 32  # kept-alive connections per host: enough for every fan-out sender at once
TOKEN_MARGIN = timedelta(seconds=120)  # refresh a little before WeChat's expiry
# errcodes after which this recipient cannot be reached this way; retrying cannot help
UNREACHABLE = frozenset({43004, 40003, 43101, 60111, 81013})
# the resident blocked or no longer follows the Official Account
UNFOLLOWED = frozenset({43004})
# the customer-service window is closed or its quota of messages used up
WINDOW_CLOSED = frozenset({45015, 45047})
# media/get: the media_id is unknown or past WeChat's three days; asking again cannot help
MEDIA_GONE = frozenset({40007})


class DeliveryError(Exception):
    """The API did not take the message; `permanent` means retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(reason)
        self.permanent, self.code = permanent, code


class DbTokenStorage(SessionStorage):
    """wechatpy's token storage, kept in the database and shared by every process."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions, self.clock = sessions, clock
        self._known: dict[str, tuple[str, datetime]] = {}  # this process's copy, until it expires

    def get(self, key: str, default: Any = None) -> Any:
        known = self._known.get(key)
        if known is not None and known[1] - TOKEN_MARGIN > self.clock():
            return known[0]
        with self.sessions() as session:
            row = session.get(AccessToken, key)
        if row is None or row.expires_at - TOKEN_MARGIN <= self.clock():
            return default
        self._known[key] = (row.value, row.expires_at)
        return row.value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = self.clock() + timedelta(seconds=ttl or 7200)
        for _ in range(2):  # two processes may store their first token at once
            try:
                with transaction(self.sessions) as session:
                    row = session.get(AccessToken, key)
                    if row is None:
                        session.add(AccessToken(key=key, value=value, expires_at=expires))
                    else:
                        row.value, row.expires_at = value, expires
                self._known[key] = (value, expires)
                return
            except IntegrityError:
                continue

    def delete(self, key: str) -> None:
        self._known.pop(key, None)
        with transaction(self.sessions) as session:
            row = session.get(AccessToken, key)
            if row is not None:
                session.delete(row)


class _OfficialClient(WeChatClient):
    """wechatpy's client, with tokens from `stable_token` under api_base_url."""

    def fetch_access_token(self) -> dict:
        force = self.session.get(self.access_token_key) is not None  # it was refused: renew
        response = self._http.post(f"{self.API_BASE_URL}stable_token", timeout=self.timeout, json={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force})
        return _store_token(self, response)


class _WeComClient(WeComClient):
    """wechatpy's WeCom client, with `gettoken` under api_base_url.

    Its token row is named by the corp id and the app's agent id: wechatpy would name it
    after the start of the app's secret, which would then sit in the database in clear.
    """

    agent_id: int = 0

    @property
    def access_token_key(self) -> str:
        return token_key(self.corp_id, self.agent_id)

    def fetch_access_token(self) -> dict:
        response = self._http.get(f"{self.API_BASE_URL}gettoken", timeout=self.timeout,
                                  params={"corpid": self.corp_id, "corpsecret": self.secret})
        return _store_token(self, response)


def token_key(corp_id: str, agent_id: int) -> str:
    """Name a WeCom app's token row by our own key: the corp id and the agent id."""
    return f"wecom:{corp_id}:{agent_id}:access_token"


def _store_token(client: Any, response: requests.Response) -> dict:
    try:
        response.raise_for_status()
        result = response.json()
    except (requests.RequestException, ValueError):
        raise WeChatClientException(None, "token endpoint failed", client=client) from None
    if result.get("errcode"):
        raise WeChatClientException(result["errcode"], result.get("errmsg"), client=client)
    client.session.set(client.access_token_key, result["access_token"], result.get("expires_in", 7200))
    return result


def _pooled(http: requests.Session, base_url: str) -> requests.Session:
    """Let parallel senders each keep a connection open instead of reconnecting; read the
    environment's proxy and CA-bundle settings for the API's host once.

    requests reads them (every variable of the environment, and ~/.netrc) on each call: a
    fifth of a call's CPU, for settings that do not change while the process runs.
    """
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    found = http.merge_environment_settings(base_url, {}, None, None, None)
    http.proxies.update(found["proxies"])
    http.verify = found["verify"]
    http.trust_env = False
    return http


def _call(send: Callable[[], Any]) -> Any:
    """Run one API call; turn its failures into DeliveryError without leaking tokens."""
    try:
        return send()
    except WeChatClientException as err:
        code = err.errcode
        raise DeliveryError(f"errcode {code}", permanent=code in UNREACHABLE, code=code) from None
    except requests.RequestException as err:
        raise DeliveryError(f"network: {type(err).__name__}") from None


class WeChatApi:
    """Messages to residents through the Official Account."""

    def __init__(self, config: WeChat, storage: SessionStorage) -> None:
        self._client = _OfficialClient(config.app_id, config.app_secret, session=storage,
                                       timeout=TIMEOUT)
        self._client.API_BASE_URL = config.api_base_url
        _pooled(self._client._http, config.api_base_url)

    def send_text(self, openid: str, text: str) -> None:
        """Send a customer-service message (within 48 hours of the resident's last message)."""
        _call(lambda: self._client.message.send_text(openid, text))

    def send_template(self, openid: str, template_id: str, data: dict[str, Any]) -> None:
        """Send a template message (allowed outside the 48-hour window)."""
        _call(lambda: self._client.message.send_template(openid, template_id, data))

    def download_media(self, media_id: str) -> bytes:
        """Fetch a file a resident sent (`media/get`; WeChat keeps it three days).

        wechatpy's own `media.download` goes through its deprecated `_get`, so this asks
        its client's `get` for the same endpoint. An errcode raises DeliveryError (permanent
        once the media is gone); a JSON answer without one is no file either.
        """
        try:
            result = _call(lambda: self._client.get("media/get", params={"media_id": media_id}))
        except DeliveryError as err:
            if err.code in MEDIA_GONE:
                raise DeliveryError(str(err), permanent=True, code=err.code) from None
            raise
        if not isinstance(result, requests.Response):  # JSON without an errcode: no file
            raise DeliveryError("media/get answered without a file", permanent=True)
        return result.content


class WeComApi:
    """Messages to staff: WeCom app messages, group robots and smart-robot replies."""

    def __init__(self, config: WeCom, storage: SessionStorage) -> None:
        self._agent_id = config.agent_id
        self._client = _WeComClient(config.corp_id, config.secret, session=storage, timeout=TIMEOUT)
        self._client.agent_id = config.agent_id or 0
        self._client.API_BASE_URL = config.api_base_url
        _pooled(self._client._http, config.api_base_url)
        self._http = _pooled(requests.Session(), config.api_base_url)  # groups' robots, response_url

    def send_app(self, user_id: str, markdown: str) -> None:
        """Send a markdown app message to one staff member (`message/send`)."""
        message = {"msgtype": "markdown", "markdown": {"content": markdown}}
        if self._agent_id is None:
            raise DeliveryError("no [wecom] agent_id is configured")
        _call(lambda: self._client.message.send(self._agent_id, user_id, msg=message))

    def user_from_code(self, code: str) -> str | None:
        """The WeCom UserID an OAuth code stands for (`auth/getuserinfo`); None for someone
        outside the corporation (WeCom answers an openid then). A bad or used code raises."""
        found = _call(lambda: self._client.get("auth/getuserinfo", params={"code": code}))
        user_id = found.get("userid") or found.get("UserId") if isinstance(found, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None

    def send_group(self, webhook_url: str, markdown: str) -> None:
        """Post markdown to a group chat through its group robot (`webhook/send`)."""
        self._post_json(webhook_url, {"msgtype": "markdown", "markdown": {"content": markdown}})

    def send_response(self, response_url: str, markdown: str) -> None:
        """Answer a smart-robot message late, through the response_url it came with."""
        self._post_json(response_url, {"msgtype": "markdown", "markdown": {"content": markdown}})

    def _post_json(self, url: str, payload: dict[str, Any]) -> None:
        def send() -> None:
            response = self._http.post(url, timeout=TIMEOUT, data=json.dumps(
                payload, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json"})
            response.raise_for_status()
            result = response.json() if response.content else {}
            if result.get("errcode"):
                raise WeChatClientException(result["errcode"], result.get("errmsg"), client=None)
        try:
            _call(send)
        except ValueError:
            raise DeliveryError("not JSON") from None
