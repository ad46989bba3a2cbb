"""The configuration: read and checked once at start (settings/rules.py), then handed to the
code as typed sections, one frozen dataclass per TOML table (settings/sections.py).

    config = settings.read()          # the app does this once, in create_app
    config.market.place               # and the code reads sections, never the raw tree
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from settings.rules import (ConfigError, config_path, is_duration, load, parse_duration, redacted,
                            validate)
from settings.sections import (Console, Database, Deadlines, Estate, Followup, Market, Open311,
                               RateLimit, Scheduler, Security, Server, Settings, Sim, Sla, Spool,
                               Storage, WeChat, WeCom, WeComBot)

__all__ = ["ConfigError", "Console", "Database", "Deadlines", "Estate", "Followup", "Market",
           "Open311", "RateLimit", "Scheduler", "Security", "Server", "Settings", "Sim", "Sla",
           "Spool", "Storage", "WeChat", "WeCom",
           "WeComBot", "config_path", "is_duration", "load", "parse_duration", "read", "redacted",
           "validate"]


def read(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load, validate and type the configuration: what the app is built with."""
    path = path or config_path()
    return Settings.from_tree(load(path, overrides), path.name)
