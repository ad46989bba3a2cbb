"""A console operator's browser over real HTTP (cookies kept, CSRF tokens read from the forms),
and making operators through the real `flask console add-operator`."""
from __future__ import annotations

import re

import requests
from flask import Flask

PASSWORD = "correct-horse-2026"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_operator(app: Flask, name: str, level: str, *, estate: str | None = None,
                 buildings: str | None = None, staff: str | None = None,
                 password: str = PASSWORD) -> str:
    """Run `flask console add-operator`, the password on stdin; return what it printed."""
    args = ["console", "add-operator", "--name", name, "--level", level]
    for flag, value in (("--estate", estate), ("--buildings", buildings), ("--staff", staff)):
        if value is not None:
            args += [flag, value]
    result = app.test_cli_runner().invoke(args=args, input=password + "\n")
    assert result.exit_code == 0, result.output
    return result.output


class ConsoleBrowser:
    """What a browser does at /console: keeps the cookie, posts forms with their token."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.http = requests.Session()

    def get(self, path: str, **params: object) -> requests.Response:
        """GET a console path (redirects are not followed)."""
        return self.http.get(self.server + path, params=params, allow_redirects=False, timeout=20)

    def token(self, path: str = "/console/login") -> str:
        """The CSRF token a page's forms carry."""
        page = self.http.get(self.server + path, timeout=20)
        found = TOKEN.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:200]}"
        return found.group(1)

    def post(self, path: str, data: dict[str, object] | None = None, *, token: str | None = None,
             files: dict[str, object] | None = None, csrf: bool = True) -> requests.Response:
        """POST a form with this session's CSRF token (or the one given, or none)."""
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = token if token is not None else self.token(
                "/console/" if self.signed_in() else "/console/login")
        return self.http.post(self.server + path, data=form, files=files, allow_redirects=False,
                              timeout=30)

    def signed_in(self) -> bool:
        """Whether the console lets this browser in."""
        return self.get("/console/").status_code == 200

    def sign_in(self, name: str, password: str = PASSWORD) -> requests.Response:
        """Sign in through the form."""
        return self.post("/console/login", {"name": name, "password": password},
                         token=self.token("/console/login"))

    @property
    def cookie(self) -> str | None:
        """The console's cookie as the browser holds it."""
        return self.http.cookies.get("linli_console")

    def plant(self, cookie: str | None) -> None:
        """Put a cookie value in this browser (as an attacker who fixes a session would)."""
        for held in list(self.http.cookies):
            if held.name == "linli_console":
                self.http.cookies.clear(held.domain, held.path, held.name)
        if cookie is not None:
            host = self.server.split("//", 1)[1].split(":", 1)[0]
            self.http.cookies.set("linli_console", cookie, domain=host, path="/")
