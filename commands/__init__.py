"""`flask --app app <command>`: the operators' commands, one module per area (CONTRACT.md, "Command line").

Importing this package starts nothing; `init_app` only registers the commands.
"""
from __future__ import annotations

from flask import Flask

from commands import (board, db, export, households, intents, jobs, market, outbox, serve, staff, stats,
                      votes)

# Each module holds one area's commands and lists them in its COMMANDS.
GROUPS = (db, serve, staff, households, votes, market, jobs, outbox, stats, board, intents, export)


def init_app(app: Flask) -> None:
    """Register every operator command on the app."""
    for module in GROUPS:
        for command in module.COMMANDS:
            app.cli.add_command(command)
