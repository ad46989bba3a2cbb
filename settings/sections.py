"""The configuration as the code reads it: one frozen dataclass per TOML table, made once at
start from the checked tree, with the contract's defaults for what may be left out.

Secrets are left out of every repr, so a section can be logged.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, fields
from datetime import time
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from settings.rules import ConfigError, is_duration, parse_duration

SHANGHAI = "Asia/Shanghai"
WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/"


def _no_texts() -> Mapping[str, str]:
    return MappingProxyType({})


def _table(tree: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    """A table of the tree ({} when absent); a key that is not a table stops startup."""
    node: Any = tree
    for part in name.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise ConfigError(source, f"[{name}]", "must be a table")
    return node


def _given(cls: type, table: dict[str, Any]) -> dict[str, Any]:
    """The table's keys that are plain fields of the section (the rest take their defaults)."""
    return {f.name: table[f.name] for f in fields(cls) if f.name in table and f.init}


def _texts(table: dict[str, Any], name: str, source: str) -> Mapping[str, str]:
    """A table of names to strings (templates, group robots), read-only."""
    if not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(source, f"[{name}]", "must map names to strings")
    return MappingProxyType(dict(table))


@dataclass(frozen=True)
class Server:
    """[server]: where `flask serve` listens, and the address people reach it at."""

    host: str
    port: int
    public_url: str | None = None  # e.g. "https://linli.example.cn/"; links in chat start with it

    @property
    def base_url(self) -> str:
        """Where links sent in chat point: `public_url`, else this server's own address
        (proposal links; photo links in cards need `public_url` itself)."""
        return self.public_url or f"http://{self.host}:{self.port}/"


@dataclass(frozen=True)
class Database:
    """[database]: the SQLAlchemy URL ($DATABASE_URL overrides it)."""

    url: str


@dataclass(frozen=True)
class Estate:
    """[estate]: the names the pages, Open311 and the demo use (None: not configured)."""

    name: str | None = None
    community: str | None = None
    street: str | None = None


@dataclass(frozen=True)
class WeChat:
    """[wechat]: the Official Account residents write to."""

    token: str = field(repr=False)
    app_id: str
    app_secret: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)  # "": plaintext only
    api_base_url: str
    templates: Mapping[str, str] = field(default_factory=_no_texts)  # message kind -> template id
    mode: str = "compatible"  # as set on WeChat's side; "safe" refuses plaintext posts


@dataclass(frozen=True)
class WeComBot:
    """[wecom.bot]: the smart robot in staff group chats."""

    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)

    @property
    def ready(self) -> bool:
        """Whether /wecom/bot is configured (else it answers 404)."""
        return bool(self.token and self.encoding_aes_key)


@dataclass(frozen=True)
class WeCom:
    """[wecom]: the staff's app, its smart robot, and the group robots that only send."""

    corp_id: str = ""
    agent_id: int | None = None
    secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    api_base_url: str = WECOM_API
    bot: WeComBot = WeComBot()
    group_webhooks: Mapping[str, str] = field(default_factory=_no_texts, repr=False)  # name -> URL

    @property
    def ready(self) -> bool:
        """Whether /wecom (the app's callback) is configured (else it answers 404)."""
        return bool(self.corp_id and self.token and self.encoding_aes_key)


@dataclass(frozen=True)
class Scheduler:
    """[scheduler]: whether jobs fire, and the estate's time zone."""

    enabled: bool = True
    timezone: str = SHANGHAI

    @property
    def tz(self) -> ZoneInfo:
        """The estate's time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Deadlines:
    """How long a ticket may wait for a first response and for its fix, in seconds."""

    response: int
    resolve: int


SLA_DEFAULTS = {"urgent": {"response": "30m", "resolve": "24h"},
                "normal": {"response": "24h", "resolve": "3d"}}
SLA_CATEGORY_DEFAULTS = {"facilities": {"resolve": "7d"}, "parking": {"resolve": "7d"}}


@dataclass(frozen=True)
class Sla:
    """[sla]: deadlines by urgency, and for ordinary tickets of some categories."""

    urgent: Deadlines
    normal: Deadlines
    category: Mapping[str, Deadlines]  # the config's overrides, else the defaults' (7 days)

    @classmethod
    def from_table(cls, table: dict[str, Any], source: str = "config") -> Sla:
        """Read [sla]: a level's table may give one of the two; a category's replaces its default."""
        def limits(base: dict[str, str], given: dict[str, Any], name: str) -> Deadlines:
            chosen = dict(base) | given
            for key in ("response", "resolve"):
                if not is_duration(chosen[key]):
                    raise ConfigError(source, f"[{name}] {key}", 'must be a duration like "3d"')
            return Deadlines(parse_duration(chosen["response"]), parse_duration(chosen["resolve"]))

        tree = {"sla": table}
        levels = {level: limits(SLA_DEFAULTS[level], _table(tree, f"sla.{level}", source), f"sla.{level}")
                  for level in ("urgent", "normal")}
        overrides = _table(tree, "sla.category", source)
        named = set(SLA_CATEGORY_DEFAULTS) | set(overrides)
        category = {c: limits(SLA_DEFAULTS["normal"], _table(tree, f"sla.category.{c}", source)
                              if c in overrides else SLA_CATEGORY_DEFAULTS[c], f"sla.category.{c}")
                    for c in sorted(named)}
        return cls(levels["urgent"], levels["normal"], MappingProxyType(category))


def _clock(value: Any, name: str, source: str) -> time:
    try:
        hour, minute = str(value).strip().split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise ConfigError(source, name, 'must be a time like "19:00"') from None


@dataclass(frozen=True)
class Market:
    """[market]: the monthly market day and its reminders."""

    day_of_month: int = 15
    opens: time = time(9, 0)
    closes: time = time(12, 0)
    place: str = ""
    services: tuple[str, ...] = ()
    remind_evening_before: time = time(19, 0)
    remind_morning_of: time = time(8, 0)
    groups: tuple[str, ...] | None = None  # None: every configured group robot

    @classmethod
    def from_table(cls, table: dict[str, Any], source: str = "config") -> Market:
        """Read [market], with the contract's defaults."""
        hours = str(table.get("hours", "09:00-12:00")).split("-")
        if len(hours) != 2:
            raise ConfigError(source, "[market] hours", 'must be like "09:00-12:00"')
        groups = table.get("groups")
        return cls(
            day_of_month=int(table.get("day_of_month", 15)),
            opens=_clock(hours[0], "[market] hours", source),
            closes=_clock(hours[1], "[market] hours", source), place=str(table.get("place", "")),
            services=tuple(table.get("services", ())),
            remind_evening_before=_clock(table.get("remind_evening_before", "19:00"),
                                         "[market] remind_evening_before", source),
            remind_morning_of=_clock(table.get("remind_morning_of", "08:00"),
                                     "[market] remind_morning_of", source),
            groups=tuple(groups) if groups is not None else None)


@dataclass(frozen=True)
class Followup:
    """[followup]: when a fixed ticket is looked back on (回头看)."""

    look_back: int = 7 * 86400  # seconds after it was resolved


@dataclass(frozen=True)
class Open311:
    """[open311]: the key a city platform sends to file requests (None: no POSTs), and the
    jurisdiction_id requests may name (None: any is taken, as for a one-jurisdiction endpoint)."""

    api_key: str | None = field(default=None, repr=False)
    jurisdiction_id: str | None = None


@dataclass(frozen=True)
class Security:
    """[security]: the key of the keyed hashes the database keeps instead of owners' phones."""

    hash_key: str | None = field(default=None, repr=False)  # None: derived from the app secret


@dataclass(frozen=True)
class Sim:
    """[sim]: the chat simulator at /sim (off unless turned on).

    On, it answers street operators signed into the console, and, when `demo` says this
    deployment is a demo, anyone on this machine (loopback, not through a proxy).
    """

    enabled: bool = False
    demo: bool = False


@dataclass(frozen=True)
class Console:
    """[console]: the operators' console at /console (off without a secret key)."""

    secret_key: str | None = field(default=None, repr=False)  # signs the session cookie
    secure_cookies: bool = False  # true behind TLS: the cookie is sent over HTTPS only
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-For/-Proto are believed
    wecom_sign_in: bool = False  # operators may also sign in through WeCom (the [wecom] app's OAuth)

    @property
    def enabled(self) -> bool:
        """Whether /console serves (it needs a key to sign its cookie)."""
        return bool(self.secret_key)


@dataclass(frozen=True)
class Spool:
    """[spool]: where messages wait while the database is down, and how many may."""

    dir: str = "data/spool"
    max_messages: int = 10_000


@dataclass(frozen=True)
class Storage:
    """[storage]: where residents' photos are kept (a folder, or an S3-compatible bucket)."""

    path: str = "data/photos"  # a folder, relative to the project; used when no bucket is named
    max_bytes: int = 10 * 1024 * 1024  # a larger photo is refused
    link_ttl: int = 7 * 86400  # seconds a staff link to a photo works
    link_secret: str | None = field(default=None, repr=False)  # None: derived from the app secret
    bucket: str | None = None  # set: photos go to this S3 bucket instead of the folder
    endpoint_url: str | None = None  # an S3-compatible store's address (None: AWS)
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Storage:
        """Read [storage]; `link_ttl` is a duration like "7d"."""
        given = _given(cls, table)
        if "link_ttl" in table:
            given["link_ttl"] = parse_duration(table["link_ttl"])
        return cls(**given)


@dataclass(frozen=True)
class RateLimit:
    """[ratelimit]: each resident's token bucket."""

    per_minute: int
    burst: int


@dataclass(frozen=True)
class Settings:
    """The whole configuration, one typed section per table."""

    server: Server
    database: Database
    wechat: WeChat
    wecom: WeCom = WeCom()
    estate: Estate = Estate()
    scheduler: Scheduler = Scheduler()
    sla: Sla = field(default_factory=lambda: Sla.from_table({}))
    followup: Followup = Followup()
    market: Market = Market()
    open311: Open311 = Open311()
    sim: Sim = Sim()
    console: Console = Console()
    spool: Spool = Spool()
    ratelimit: RateLimit | None = None  # None: nobody is slowed
    security: Security = Security()
    storage: Storage = Storage()

    @property
    def photo_link_key(self) -> bytes:
        """The key that signs staff links to photos: `[storage] link_secret`, else one derived
        from `[wechat] app_secret` (then resetting that secret ends every link given out)."""
        if self.storage.link_secret:
            return self.storage.link_secret.encode("utf-8")
        return hmac.new(self.wechat.app_secret.encode("utf-8"), b"linli:photo-links:v1",
                        hashlib.sha256).digest()

    @property
    def hash_key(self) -> bytes:
        """The key of the database's keyed hashes (HMAC-SHA256): `[security] hash_key`, else one
        derived from `[wechat] app_secret` (then resetting that secret changes every hash)."""
        if self.security.hash_key:
            return self.security.hash_key.encode("utf-8")
        return hmac.new(self.wechat.app_secret.encode("utf-8"), b"linli:hash-key:v1",
                        hashlib.sha256).digest()

    @classmethod
    def from_tree(cls, tree: dict[str, Any], source: str = "config") -> Settings:
        """Make the sections from a tree `validate` has checked."""
        def table(name: str) -> dict[str, Any]:
            return _table(tree, name, source)

        wechat, wecom = table("wechat"), table("wecom")
        try:
            ZoneInfo(table("scheduler").get("timezone", SHANGHAI))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(source, "[scheduler] timezone", "is not a known time zone") from None
        return cls(
            server=Server(**_given(Server, table("server"))),
            database=Database(**_given(Database, table("database"))),
            wechat=WeChat(**_given(WeChat, wechat) | {"templates": _texts(
                table("wechat.templates"), "wechat.templates", source)}),
            wecom=WeCom(**_given(WeCom, wecom) | {
                "bot": WeComBot(**_given(WeComBot, table("wecom.bot"))),
                "group_webhooks": _texts(table("wecom.group_webhooks"), "wecom.group_webhooks",
                                         source)}),
            estate=Estate(**_given(Estate, table("estate"))),
            scheduler=Scheduler(**_given(Scheduler, table("scheduler"))),
            sla=Sla.from_table(table("sla"), source),
            followup=Followup(parse_duration(table("followup").get("look_back", "7d"))),
            market=Market.from_table(table("market"), source),
            open311=Open311(**_given(Open311, table("open311"))),
            sim=Sim(**_given(Sim, table("sim"))),
            console=Console(**_given(Console, table("console"))),
            spool=Spool(**_given(Spool, table("spool"))),
            ratelimit=RateLimit(**_given(RateLimit, table("ratelimit"))) if "ratelimit" in tree else None,
            security=Security(**_given(Security, table("security"))),
            storage=Storage.from_table(table("storage")))
