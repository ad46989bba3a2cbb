"""`flask serve`: the demo's all-in-one server (web and, when enabled, the scheduler)."""
from __future__ import annotations

import click
from flask import current_app

from bot import outbox as outbox_worker
from bot.services import current as services


@click.command("serve")
def serve() -> None:
    """Serve on [server] host and port (threaded; for production use gunicorn)."""
    from werkzeug.serving import run_simple

    from scheduler.leader import start_if_enabled  # here: only `serve` may start a scheduler

    server = services().config.server
    outbox_worker.kick(services())  # whatever waited while we were down goes out now
    jobs = start_if_enabled(services())
    address = f"http://{server.host}:{server.port}"
    click.echo(f"邻里通 is serving on {address}  (WeChat: /wechat)")
    if services().config.sim.enabled:
        click.echo(f"chat simulator: {address}/sim")
    try:
        # Not app.run(): Flask ignores it inside a `flask` command and returns at once.
        run_simple(server.host, server.port, current_app._get_current_object(),
                   threaded=True, use_reloader=False)
    finally:
        if jobs is not None:
            jobs.shutdown()


COMMANDS = (serve,)
