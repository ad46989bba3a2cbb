"""What every human-facing page shares: strict security headers and the layout.

Pages carry no inline script or style: scripts and stylesheets come from
`/static` on this server (estate offices sit on intranets, so no CDN), and data
a script needs travels in a `<script type="application/json">` block, which the
browser never runs.
"""
from __future__ import annotations

from flask import Blueprint, Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def harden(response: Response) -> Response:
    """Set the headers that keep a page from running or framing anything foreign."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def page_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint whose every response carries the page headers."""
    blueprint = Blueprint(name, import_name)
    blueprint.after_request(harden)
    return blueprint
