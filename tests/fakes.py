"""A small fake of the WeChat and WeCom HTTP APIs, served on 127.0.0.1 by a fixture.

It issues access tokens, records every call, and fails on demand: an errcode for the
next N sends, HTTP 500s, slowness, sends that hang past the client's timeout, or
expiring every token it has issued. It also holds sends at a chosen point until the
test lets them go (so a test can kill a sender at a known moment), and counts the
sends in flight at once. It serves the files residents sent (`media/get`): registered
bytes, else a small JPEG, until a test expires a media_id as WeChat does after three days.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from typing import Any

from PIL import Image

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

TOKEN_PATHS = ("/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/gettoken")
MEDIA_PATH = "/cgi-bin/media/get"


@lru_cache(maxsize=1)
def small_jpeg() -> bytes:
    """A 4×3 JPEG: what the fake serves for a media_id no test registered."""
    out = BytesIO()
    Image.new("RGB", (4, 3), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()
HOLD_LIMIT = 120.0  # seconds a held send waits at most, should a test never release it


@dataclass
class Call:
    """One request the bot made to the fake."""

    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    status: int = 0  # HTTP status answered
    errcode: int = 0  # errcode answered
    held: bool = False  # taken, then its answer held (see FakeWeChat.hold_after)


@dataclass
class FakeWeChat:
    """Answers like api.weixin.qq.com and qyapi.weixin.qq.com; records every call."""

    calls: list[Call] = field(default_factory=list)
    errcode: int = 0  # every send answers with this errcode while it is set
    fail_next: list[int] = field(default_factory=list)  # errcodes (or 500) for the next sends
    delay: float = 0.0  # seconds before answering a send
    hang_next: int = 0  # the next N sends never reach "WeChat": they hang until the client gives up
    hang_seconds: float = 6.0
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    # Holding: sends after the first `hold_after` wait until `release` is set. With
    # `hold_taken`, WeChat has taken a held send (it is recorded; only the answer waits);
    # without, it never reaches WeChat (not recorded; answered 504 once released).
    hold_after: int | None = None
    hold_taken: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    held: int = 0  # sends held so far
    gather: threading.Barrier | None = None  # the first sends wait here until that many are in flight
    in_flight: int = 0
    peak_in_flight: int = 0
    oauth_codes: dict[str, str] = field(default_factory=dict)  # WeCom OAuth code -> UserID, used once
    _sends: int = 0
    # media/get: files by media_id (else small_jpeg()), the ones expired, and failures to come
    media: dict[str, bytes] = field(default_factory=dict)
    expired_media: set[str] = field(default_factory=set)
    media_fail_next: list[int] = field(default_factory=list)  # errcodes (or 500) for the next gets

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        if request.path in TOKEN_PATHS:
            return self._respond(request, body, environ, start_response)
        if request.path == MEDIA_PATH:
            return self._media(request)(environ, start_response)
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return self._send(request, body, environ, start_response)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _send(self, request: Request, body: Any, environ: dict, start_response: Any) -> Any:
        gather = self.gather
        if gather is not None:
            try:
                gather.wait()
            except threading.BrokenBarrierError:  # too few sends came at once: fail loudly
                return Response("", status=500)(environ, start_response)
            self.gather = None  # gathered once; later sends go straight through
        if self._hangs():
            time.sleep(self.hang_seconds)  # the client has timed out by now; nothing was taken
            return Response("", status=504)(environ, start_response)
        hold = self._holds()
        if hold and not self.hold_taken:
            self.release.wait(HOLD_LIMIT)
            return Response("", status=504)(environ, start_response)  # WeChat never took it
        return self._respond(request, body, environ, start_response, hold=hold)

    def _respond(self, request: Request, body: Any, environ: dict, start_response: Any,
                 hold: bool = False) -> Any:
        call = Call(request.path, dict(request.args), body, held=hold)
        with self.lock:
            self.calls.append(call)
        status, payload = self._answer(request)
        call.status, call.errcode = status, payload.get("errcode", 0)
        if hold:
            self.release.wait(HOLD_LIMIT)  # WeChat took it; its answer waits
        if self.delay and request.path not in TOKEN_PATHS:
            time.sleep(self.delay)
        return Response(json.dumps(payload), status=status,
                        mimetype="application/json")(environ, start_response)

    def _answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if request.path in TOKEN_PATHS:
                self.tokens_issued += 1
                token = f"FAKE-TOKEN-{self.tokens_issued}"
                self.valid_tokens.add(token)
                return 200, {"access_token": token, "expires_in": 7200}
            # group robots and smart-robot response URLs carry their own key, not a token
            needs_token = not request.path.endswith(("/webhook/send", "/aibot/response"))
            if needs_token and request.args.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if request.path.endswith("/auth/getuserinfo"):  # WeCom OAuth: a code works once
                user_id = self.oauth_codes.pop(request.args.get("code", ""), None)
                if user_id is None:
                    return 200, {"errcode": 40029, "errmsg": "invalid code"}
                if user_id.startswith("openid:"):  # not a member of the corporation
                    return 200, {"errcode": 0, "errmsg": "ok", "openid": user_id[7:]}
                return 200, {"errcode": 0, "errmsg": "ok", "userid": user_id, "user_ticket": "T"}
            if self.fail_next:
                code = self.fail_next.pop(0)
                if code == 500:
                    return 500, {"errmsg": "internal error"}
                return 200, {"errcode": code, "errmsg": "fail"}
            if self.errcode:
                return 200, {"errcode": self.errcode, "errmsg": "fail"}
            return 200, {"errcode": 0, "errmsg": "ok"}

    def _media(self, request: Request) -> Response:
        """Serve a file a resident sent, as WeChat's media/get does (errors as JSON)."""
        media_id = request.args.get("media_id", "")
        call = Call(request.path, dict(request.args), None)
        with self.lock:
            self.calls.append(call)
            if request.args.get("access_token") not in self.valid_tokens:
                code = 42001
            elif self.media_fail_next:
                code = self.media_fail_next.pop(0)
            elif media_id in self.expired_media or not media_id:
                code = 40007  # invalid media_id: gone after three days
            else:
                code = 0
            data = self.media.get(media_id) or small_jpeg()
        call.errcode = code if code != 500 else 0
        call.status = 500 if code == 500 else 200
        if code == 500:
            return Response("", status=500)
        if code:
            return Response(json.dumps({"errcode": code, "errmsg": "fail"}), mimetype="application/json")
        return Response(data, mimetype="image/jpeg",
                        headers={"Content-Disposition": f'attachment; filename="{media_id}.jpg"'})

    def expire_media(self, media_id: str) -> None:
        """Forget a media_id, as WeChat does three days after it was sent."""
        with self.lock:
            self.expired_media.add(media_id)

    def downloads(self) -> list[str]:
        """The media_ids the bot asked media/get for, taken or not, in order."""
        with self.lock:
            return [c.params.get("media_id", "") for c in self.calls if c.path == MEDIA_PATH]

    def _holds(self) -> bool:
        """Count this send; say whether it is one to hold."""
        with self.lock:
            self._sends += 1
            hold = self.hold_after is not None and self._sends > self.hold_after \
                and not self.release.is_set()
            self.held += hold
            return hold

    def _hangs(self) -> bool:
        with self.lock:
            if self.hang_next:
                self.hang_next -= 1
                return True
            return False

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid, as WeChat does after two hours."""
        with self.lock:
            self.valid_tokens.clear()

    def sent(self, path_end: str = "message/custom/send") -> list[dict[str, Any]]:
        """Return the bodies of the successful-looking sends to one endpoint, in order."""
        with self.lock:
            return [c.body for c in self.calls if c.path.endswith(path_end) and c.body]

    def delivered(self, path_end: str = "message/custom/send") -> list[dict[str, Any]]:
        """Return the bodies of the sends to one endpoint that the fake took (errcode 0)."""
        with self.lock:
            return [c.body for c in self.calls if c.path.endswith(path_end) and c.body
                    and c.status == 200 and c.errcode == 0]

    def token_fetches(self) -> int:
        """How many times the bot asked for a token."""
        with self.lock:
            return sum(1 for c in self.calls if c.path in TOKEN_PATHS)


class Served:
    """A WSGI app served on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(5)
