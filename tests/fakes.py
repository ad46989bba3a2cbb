"""A small fake of the WeChat HTTP API, served on 127.0.0.1 by a fixture."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Call:
    """One request the bot made to the fake."""

    path: str
    params: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeWeChat:
    """Answers like api.weixin.qq.com/cgi-bin/; records every call; can be told to fail."""

    calls: list[Call] = field(default_factory=list)
    errcode: int = 0  # answer message sends with this errcode
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        body = json.loads(request.get_data() or b"null") if request.method == "POST" else None
        with self.lock:
            self.calls.append(Call(request.path, dict(request.args), body))
        if request.path.endswith("/token"):
            payload: dict[str, Any] = {"access_token": "FAKE-TOKEN", "expires_in": 7200}
        elif request.args.get("access_token") != "FAKE-TOKEN":
            payload = {"errcode": 40001, "errmsg": "invalid credential"}
        else:
            payload = {"errcode": self.errcode, "errmsg": "ok" if not self.errcode else "fail"}
        return Response(json.dumps(payload), mimetype="application/json")(environ, start_response)

    def sent(self, path_end: str = "message/custom/send") -> list[dict[str, Any]]:
        """Return the bodies of the sends to one endpoint, in order."""
        with self.lock:
            return [c.body for c in self.calls if c.path.endswith(path_end) and c.body]


class Served:
    """A WSGI app served on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(5)
