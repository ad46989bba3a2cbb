"""Read the TOML file and check every key: a bad or missing one stops startup with one line
naming it (CONTRACT.md, "Configuration")."""
from __future__ import annotations

import base64
import binascii
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent.parent  # the project folder
WECHAT_MODES = ("plaintext", "compatible", "safe")  # as set on WeChat's side; absent: compatible
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")


class ConfigError(SystemExit):
    """A missing or malformed key: stops startup with one line naming it."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key} {problem}")


def config_path() -> Path:
    """Return the file to read: $LINLI_CONFIG, else config.toml, else the example."""
    if os.environ.get("LINLI_CONFIG"):
        return Path(os.environ["LINLI_CONFIG"])
    local = HERE / "config.toml"
    return local if local.exists() else HERE / "config.example.toml"


def _aes_key(value: Any) -> bool:
    if value == "":
        return True
    if not isinstance(value, str) or len(value) != 43:
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _required_aes_key(value: Any) -> bool:
    return value != "" and _aes_key(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _base_url(value: Any) -> bool:
    return _url(value) and value.endswith("/")


def _port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: Any) -> bool:
    return _int(value) and value > 0


def _api_key(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 16 and value.isprintable() and " " not in value


def _jurisdiction(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,99}", value) is not None


def _hash_key(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 32 and value.isprintable() and " " not in value


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_duration(value: Any) -> bool:
    """Whether a value is a duration like \"30m\"."""
    return isinstance(value, str) and DURATION.match(value) is not None


@dataclass(frozen=True)
class Rule:
    """One key: where it lives, whether it must be there, how to check it, what to say."""

    path: str
    check: Callable[[Any], bool]
    expect: str
    required: bool = True


RULES: tuple[Rule, ...] = (
    Rule("server.host", _text, "must be a host name"),
    Rule("server.port", _port, "must be a port number (1-65535)"),
    Rule("server.public_url", _base_url, "must be an http(s) URL ending in /", required=False),
    Rule("database.url", _text, "must be a database URL"),
    Rule("wechat.token", _text, "must be a non-empty string"),
    Rule("wechat.app_id", _text, "must be a non-empty string"),
    Rule("wechat.app_secret", _text, "must be a non-empty string"),
    Rule("wechat.encoding_aes_key", _aes_key, "must be empty or 43 base64 characters"),
    Rule("wechat.api_base_url", _base_url, "must be an http(s) URL ending in /"),
    Rule("wechat.mode", lambda v: v in WECHAT_MODES, 'must be "plaintext", "compatible" or "safe"',
         required=False),
    Rule("wecom.corp_id", _text, "must be a non-empty string", required=False),
    Rule("wecom.agent_id", _int, "must be an integer", required=False),
    Rule("wecom.secret", _text, "must be a non-empty string", required=False),
    Rule("wecom.token", _text, "must be a non-empty string", required=False),
    Rule("wecom.encoding_aes_key", _required_aes_key, "must be 43 base64 characters", required=False),
    Rule("wecom.api_base_url", _base_url, "must be an http(s) URL ending in /", required=False),
    Rule("wecom.bot.token", _text, "must be a non-empty string", required=False),
    Rule("wecom.bot.encoding_aes_key", _required_aes_key, "must be 43 base64 characters",
         required=False),
    Rule("scheduler.enabled", _bool, "must be true or false", required=False),
    Rule("scheduler.timezone", _text, "must be a time zone name", required=False),
    Rule("sla.urgent.response", is_duration, 'must be a duration like "30m"', required=False),
    Rule("sla.urgent.resolve", is_duration, 'must be a duration like "24h"', required=False),
    Rule("sla.normal.response", is_duration, 'must be a duration like "24h"', required=False),
    Rule("sla.normal.resolve", is_duration, 'must be a duration like "3d"', required=False),
    Rule("followup.look_back", is_duration, 'must be a duration like "7d"', required=False),
    Rule("market.day_of_month", _int, "must be an integer", required=False),
    Rule("open311.api_key", _api_key, "must be at least 16 characters, no spaces", required=False),
    Rule("open311.jurisdiction_id", _jurisdiction, "must be a domain-like name, e.g. linli.example.cn",
         required=False),
    Rule("security.hash_key", _hash_key, "must be at least 32 characters, no spaces", required=False),
    Rule("sim.enabled", _bool, "must be true or false", required=False),
    Rule("sim.demo", _bool, "must be true or false", required=False),
    Rule("console.secret_key", _hash_key, "must be at least 32 characters, no spaces",
         required=False),
    Rule("console.secure_cookies", _bool, "must be true or false", required=False),
    Rule("console.wecom_sign_in", _bool, "must be true or false", required=False),
    Rule("console.trusted_proxies", lambda v: _int(v) and 0 <= v <= 5,
         "must be the number of proxies in front (0-5)", required=False),
    Rule("spool.dir", _text, "must be a folder path", required=False),
    Rule("spool.max_messages", _positive, "must be a positive integer", required=False),
    Rule("storage.path", _text, "must be a folder path", required=False),
    Rule("storage.max_bytes", _positive, "must be a positive integer", required=False),
    Rule("storage.link_ttl", is_duration, 'must be a duration like "7d"', required=False),
    Rule("storage.link_secret", _hash_key, "must be at least 32 characters, no spaces", required=False),
    Rule("storage.bucket", _text, "must be a bucket name", required=False),
    Rule("storage.endpoint_url", _url, "must be an http(s) URL", required=False),
    Rule("storage.region", _text, "must be a region name", required=False),
    Rule("storage.access_key_id", _text, "must be a non-empty string", required=False),
    Rule("storage.secret_access_key", _text, "must be a non-empty string", required=False),
    Rule("ratelimit.per_minute", _positive, "must be a positive integer", required=False),
    Rule("ratelimit.burst", _positive, "must be a positive integer", required=False),
)

SECRET_KEYS = frozenset({"token", "app_secret", "secret", "encoding_aes_key", "api_key", "hash_key",
                         "secret_key", "link_secret", "secret_access_key", "access_key_id"})
# config.example.toml's values: the console's key works only while the WeChat secret is the
# example's too (the demo); a config with a real secret must have a key of its own.
EXAMPLE_APP_SECRET = "demo-app-secret-change-me"
EXAMPLE_CONSOLE_KEY = "demo-console-key-change-me-0123456789abcdef"


def _lookup(tree: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


# A configured WeCom app needs all of these, or staff messages cannot be sent.
WECOM_APP = ("corp_id", "agent_id", "secret", "token", "encoding_aes_key")


def validate(tree: dict[str, Any], source: str) -> dict[str, Any]:
    """Check every rule; raise ConfigError naming the first bad key."""
    wecom = tree.get("wecom")
    if isinstance(wecom, dict) and wecom.get("corp_id"):
        for key in WECOM_APP:
            if key not in wecom:
                raise ConfigError(source, f"[wecom] {key}", "is missing")
    ratelimit = tree.get("ratelimit")
    if ratelimit is not None:
        for key in ("per_minute", "burst"):
            if not isinstance(ratelimit, dict) or key not in ratelimit:
                raise ConfigError(source, f"[ratelimit] {key}", "is missing")
    for rule in RULES:
        if rule.path == "wechat.encoding_aes_key" and _lookup(tree, "wechat.mode")[1] == "safe":
            rule = Rule(rule.path, _required_aes_key, 'must be 43 base64 characters in mode "safe"')
        section, _, key = rule.path.rpartition(".")
        found, value = _lookup(tree, rule.path)
        name = f"[{section}] {key}"
        if not found:
            if rule.required:
                raise ConfigError(source, name, "is missing")
            continue
        if not rule.check(value):
            raise ConfigError(source, name, rule.expect)
    _example_console_key(tree, source)
    _no_simulator_on_a_live_estate(tree, source)
    return tree


# The credentials that make a deployment live: with any of them real, people are real.
CREDENTIALS = ("wechat.token", "wechat.app_secret", "wechat.encoding_aes_key", "wecom.secret",
               "wecom.token", "wecom.encoding_aes_key", "wecom.bot.token",
               "wecom.bot.encoding_aes_key")
# The example's AES keys (an alphabet, forwards and backwards); every other placeholder says "demo".
EXAMPLE_AES_KEYS = frozenset({"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                              "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"})


def placeholder(value: Any) -> bool:
    """Whether a credential is a stand-in: empty, the example's AES key, or marked "demo"."""
    text = str(value)
    return text == "" or text in EXAMPLE_AES_KEYS or "demo" in text.lower()


def real_credential(tree: dict[str, Any]) -> str | None:
    """The first credential that is not a placeholder, as "[section] key"; None when all are."""
    for path in CREDENTIALS:
        found, value = _lookup(tree, path)
        if found and not placeholder(value):
            section, _, key = path.rpartition(".")
            return f"[{section}] {key}"
    return None


def _no_simulator_on_a_live_estate(tree: dict[str, Any], source: str) -> None:
    """Refuse to start with /sim on when a real credential says the estate is live."""
    if _lookup(tree, "sim.enabled")[1] is not True:
        return
    real = real_credential(tree)
    if real is not None:
        raise ConfigError(source, "[sim] enabled", (
            f"must be false: {real} is a real credential (a placeholder has \"demo\" in it), "
            "and the simulator would let whoever reaches it act as this estate's people"))


def _example_console_key(tree: dict[str, Any], source: str) -> None:
    """Refuse the example's console key beside a real WeChat secret (a production config)."""
    key = _lookup(tree, "console.secret_key")[1]
    if key == EXAMPLE_CONSOLE_KEY and _lookup(tree, "wechat.app_secret")[1] != EXAMPLE_APP_SECRET:
        raise ConfigError(source, "[console] secret_key", "is the example's; write a random one "
                          "(python -c 'import secrets; print(secrets.token_hex(32))')")


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read, merge overrides (tests) and the environment, then validate."""
    path = path or config_path()
    source = path.name
    try:
        with path.open("rb") as handle:
            tree = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(source, "file", "was not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, "file", f"is not valid TOML ({err})") from None
    for dotted, value in (overrides or {}).items():
        _assign(tree, dotted, value)
    if os.environ.get("DATABASE_URL"):
        _assign(tree, "database.url", os.environ["DATABASE_URL"])
    return validate(tree, source)


def _assign(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, key = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[key] = value


def parse_duration(text: str) -> int:
    """Return a duration like "30m" in seconds."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    amount, unit = match.groups()
    return int(amount) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def redacted(tree: dict[str, Any]) -> dict[str, Any]:
    """Return a copy safe to log or show: secrets replaced by ***."""
    return {
        key: redacted(value) if isinstance(value, dict)
        else ("***" if key in SECRET_KEYS and value else value)
        for key, value in tree.items()
    }
