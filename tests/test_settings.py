"""Configuration: validated at start, one clear line for a bad key, secrets kept out of sight."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import settings
from tests.conftest import EXAMPLE, PROJECT


def write(tmp_path: Path, replace: tuple[str, str] | None = None, drop: str | None = None) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    if drop:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(drop))
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid() -> None:
    config = settings.load(EXAMPLE)
    assert config["server"] == {"host": "127.0.0.1", "port": 5000, "public_url": "http://127.0.0.1:5000/"}


@pytest.mark.parametrize("drop, named", [
    ("token = \"linli-demo-token\"", "[wechat] token is missing"),
    ("app_secret", "[wechat] app_secret is missing"),
    ("port", "[server] port is missing"),
    ("agent_id", "[wecom] agent_id is missing"),
])
def test_missing_key_is_named(tmp_path: Path, drop: str, named: str) -> None:
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(write(tmp_path, drop=drop))
    assert str(raised.value.code) == f"config.toml: {named}"


@pytest.mark.parametrize("old, new, named", [
    ('encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"   #',
     'encoding_aes_key = "tooshort"   #', "[wechat] encoding_aes_key"),
    ("port = 5000", 'port = "five thousand"', "[server] port"),
    ('api_base_url = "https://api.weixin.qq.com/cgi-bin/"', 'api_base_url = "ftp://x"',
     "[wechat] api_base_url"),
    ('response = "30m"', 'response = "half an hour"', "[sla] response"),
    ('mode = "compatible"', 'mode = "secure"', "[wechat] mode"),
    ('public_url = "http://127.0.0.1:5000/"', 'public_url = "127.0.0.1:5000"', "[server] public_url"),
    ('link_ttl = "7d"', 'link_ttl = "a week"', "[storage] link_ttl"),
    ("max_bytes = 10485760", "max_bytes = 0", "[storage] max_bytes"),
    ('# endpoint_url = "https://s3.example.com"', 'endpoint_url = "s3.example.com"',
     "[storage] endpoint_url"),
])
def test_malformed_key_is_named(tmp_path: Path, old: str, new: str, named: str) -> None:
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(write(tmp_path, replace=(old, new)))
    assert named.split()[-1] in str(raised.value.code)
    assert "\n" not in str(raised.value.code)


def test_safe_mode_needs_the_aes_key(tmp_path: Path) -> None:
    path = write(tmp_path, replace=('mode = "compatible"', 'mode = "safe"'))
    assert settings.load(path)["wechat"]["mode"] == "safe"
    text = path.read_text(encoding="utf-8").replace(
        'encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"   #', 'encoding_aes_key = ""   #', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(path)
    assert str(raised.value.code) == 'config.toml: [wechat] encoding_aes_key must be 43 base64 characters in mode "safe"'


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server\nport = 1\n", encoding="utf-8")
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(path)
    assert "not valid TOML" in str(raised.value.code)


def test_database_url_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert settings.load(EXAMPLE)["database"]["url"] == "sqlite:////tmp/elsewhere.db"


def test_durations() -> None:
    assert [settings.parse_duration(d) for d in ("90s", "30m", "24h", "3d")] == [90, 1800, 86400, 259200]
    with pytest.raises(ValueError):
        settings.parse_duration("3 days")


def test_redacted_hides_every_secret() -> None:
    shown = str(settings.redacted(settings.load(EXAMPLE)))
    for secret in ("linli-demo-token", "demo-app-secret-change-me", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"):
        assert secret not in shown


def test_s3_credentials_and_the_link_secret_are_never_shown(tmp_path: Path) -> None:
    given = write(tmp_path, replace=("# bucket = \"linli-photos\"", "bucket = \"linli-photos\"\n"
                                     "access_key_id = \"AKIAEXAMPLEKEYID\"\n"
                                     "secret_access_key = \"s3-secret-never-shown\"\n"
                                     "link_secret = \"link-secret-never-shown-0123456789abcdef\""))
    shown = str(settings.redacted(settings.load(given))) + repr(settings.read(given))
    for secret in ("AKIAEXAMPLEKEYID", "s3-secret-never-shown", "link-secret-never-shown"):
        assert secret not in shown
    assert settings.read(given).storage.bucket == "linli-photos"


def test_bad_config_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, drop="app_secret")
    env = dict(os.environ, LINLI_CONFIG=str(path))
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1] == "config.toml: [wechat] app_secret is missing"
    assert "Traceback" not in done.stderr


def test_the_code_gets_typed_sections_with_the_contracts_defaults(tmp_path: Path) -> None:
    config = settings.read(write(tmp_path, drop="place"))
    assert config.server == settings.Server("127.0.0.1", 5000, "http://127.0.0.1:5000/")
    assert config.storage == settings.Storage(path="data/photos", max_bytes=10 * 1024 * 1024,
                                              link_ttl=7 * 86400)  # a folder, no bucket
    assert config.market.place == "" and config.market.day_of_month == 15
    assert config.market.opens.hour == 9 and config.market.groups is None
    assert config.wecom.group_webhooks["residents"].endswith("key=demo-residents")
    assert config.wechat.templates["ticket_update"] == "demo-ticket-update"
    assert config.followup.look_back == 7 * 86400 and config.scheduler.tz.key == "Asia/Shanghai"
    assert config.ratelimit == settings.RateLimit(per_minute=20, burst=10)
    assert config.sim.enabled and config.open311.api_key == "demo-open311-key-change-me"
    bare = settings.Settings.from_tree({"server": {"host": "h", "port": 1}, "database": {"url": "u"},
                                        "wechat": {"token": "t", "app_id": "a", "app_secret": "s",
                                                   "encoding_aes_key": "", "api_base_url": "b/"}})
    assert bare.ratelimit is None and bare.sim.enabled is False and bare.open311.api_key is None
    assert not bare.wecom.ready and not bare.wecom.bot.ready and bare.estate.name is None


def test_sla_levels_may_give_one_deadline_and_a_category_replaces_its_default() -> None:
    sla = settings.Sla.from_table({"urgent": {"response": "10m"},
                                   "category": {"parking": {"response": "1h"}, "noise": {"resolve": "2d"}}})
    assert sla.urgent == settings.Deadlines(600, 86400)
    assert sla.category["parking"] == settings.Deadlines(3600, 3 * 86400)  # not the default 7d
    assert sla.category["facilities"].resolve == 7 * 86400 and sla.category["noise"].resolve == 2 * 86400


@pytest.mark.parametrize("old, new, named", [
    ('hours = "09:00-12:00"', 'hours = "nine to noon"', "[market] hours"),
    ('remind_evening_before = "19:00"', 'remind_evening_before = "evening"',
     "[market] remind_evening_before"),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "[scheduler] timezone"),
    ("[sla.category.parking]\nresolve = \"7d\"", "[sla.category.parking]\nresolve = \"a week\"",
     "[sla.category.parking] resolve"),
])
def test_a_bad_value_in_a_section_is_named(tmp_path: Path, old: str, new: str, named: str) -> None:
    with pytest.raises(settings.ConfigError) as raised:
        settings.read(write(tmp_path, replace=(old, new)))
    assert named in str(raised.value.code) and "\n" not in str(raised.value.code)


def test_a_section_that_is_not_a_table_is_named() -> None:
    tree = settings.load(EXAMPLE) | {"sim": True}
    with pytest.raises(settings.ConfigError) as raised:
        settings.Settings.from_tree(tree, "config.toml")
    assert str(raised.value.code) == "config.toml: [sim] must be a table"


def test_the_typed_sections_keep_secrets_out_of_their_repr() -> None:
    shown = repr(settings.read(EXAMPLE))
    for secret in ("linli-demo-token", "demo-app-secret-change-me",
                   "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "demo-wecom-secret-change-me",
                   "demo-open311-key-change-me", "key=demo-property"):
        assert secret not in shown


def test_the_hash_key_is_checked_hidden_and_else_derived(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    short = tmp_path / "short.toml"
    short.write_text(text + '\n[security]\nhash_key = "too-short"\n', encoding="utf-8")
    with pytest.raises(settings.ConfigError, match=r"\[security\] hash_key"):
        settings.load(short)
    given = tmp_path / "given.toml"
    given.write_text(text + '\n[security]\nhash_key = "' + "k" * 40 + '"\n', encoding="utf-8")
    assert settings.read(given).hash_key == b"k" * 40
    assert settings.redacted(settings.load(given))["security"]["hash_key"] == "***"
    assert "k" * 40 not in repr(settings.read(given))
    derived = settings.read(EXAMPLE).hash_key
    assert len(derived) == 32 and derived == settings.read(EXAMPLE).hash_key  # stable
    assert settings.read(EXAMPLE).wechat.app_secret.encode() not in derived
