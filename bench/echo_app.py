"""The baseline: a bare Flask + wechatpy echo app. It checks the signature, parses, replies; nothing else.

Served by bench/bench_webhook.py under gunicorn as `bench.echo_app:app`.
"""
from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature

TOKEN = os.environ.get("BENCH_WECHAT_TOKEN", "linli-demo-token")
app = Flask(__name__)


@app.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response:
    """Echo a text message back as a passive reply."""
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    if request.method == "GET":
        return Response(args.get("echostr", ""), mimetype="text/plain")
    message = parse_message(request.get_data())
    text = message.content if message.type == "text" else "success"
    return Response(create_reply(text, message).render(), mimetype="application/xml")
