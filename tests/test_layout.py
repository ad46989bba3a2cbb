"""The house rules that hold the layout together, checked on the source itself (its AST):

- no module uses another package's private name (`_name`), by import or by attribute;
- no handler module (bot/handlers/) imports another handler module;
- tickets are opened in one place (bot/tickets.py);
- wechatpy is imported by the channels (bot/channels/) and the outbound API (bot/wxapi.py) only;
- the code reads typed settings (settings/sections.py), never the raw TOML tree;
- the README's Layout table names every top-level entry and every module of bot/, and only
  what exists;
- category codes are defined once, in models/categories.py (the intent engine's lexicon,
  intents/data/lexicon.toml, holds its cue words per category: not Python, not checked here).

A module here is every .py file of the application: the top-level modules and the
packages, not tests/, bench/, docs/, migrations/ or requirements/ (its lock script).
"""
from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import PROJECT

NOT_APPLICATION = {"tests", "bench", "docs", "migrations", "requirements", ".venv", "data",
                   "node_modules"}
HANDLERS = "bot.handlers"


@dataclass(frozen=True)
class Module:
    """One source file: its dotted name, the package it belongs to, and its syntax tree."""

    name: str
    package: str
    path: Path
    tree: ast.Module


def _dotted(path: Path) -> tuple[str, str]:
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1]) or parts[0]


@cache
def modules() -> tuple[Module, ...]:
    """Every module of the application."""
    found = []
    for path in sorted(PROJECT.rglob("*.py")):
        relative = path.relative_to(PROJECT)
        if relative.parts[0] in NOT_APPLICATION or relative.parts[0].startswith("."):
            continue
        if relative.parts[:2] == ("intents", "data"):  # the corpus's own tools (its validator)
            continue
        name, package = _dotted(path)
        found.append(Module(name, package, path, ast.parse(path.read_text(encoding="utf-8"))))
    return tuple(found)


@cache
def module_names() -> frozenset[str]:
    return frozenset(m.name for m in modules())


def _package_of(name: str) -> str:
    """The package a module of ours belongs to (a package's __init__ belongs to itself)."""
    for module in modules():
        if module.name == name:
            return module.package
    raise KeyError(name)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.package.split(".")[: len(module.package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: Module) -> list[tuple[int, str, str | None]]:
    """(line, the module of ours imported, the name taken from it or None) for every import."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names
                      if alias.name in module_names()]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in module_names():
                    found.append((node.lineno, f"{source}.{alias.name}", None))
                elif source in module_names():
                    found.append((node.lineno, source, alias.name))
    return found


def _aliases(module: Module) -> dict[str, str]:
    """Local names bound to modules of ours: `import bot.x as y`, `from bot import x`."""
    bound: dict[str, str] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in module_names():
                    bound[alias.asname] = alias.name
                elif alias.name.split(".")[0] in module_names():
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in module_names():
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bound


def _attribute_uses(module: Module) -> list[tuple[int, str, str]]:
    """(line, module of ours, attribute) for each `alias.attr` (or `a.b.attr`) on a module of ours."""
    bound = _aliases(module)
    found = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            chain.insert(0, base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in bound:
            continue
        target = bound[base.id]
        for part in chain[:-1]:  # walk down submodules: bot.handlers.report._create
            if f"{target}.{part}" not in module_names():
                break
            target = f"{target}.{part}"
        else:
            found.append((node.lineno, target, chain[-1]))
    return found


def _where(module: Module, line: int) -> str:
    return f"{module.path.relative_to(PROJECT)}:{line}"


def test_the_walk_sees_the_application() -> None:
    names = module_names()
    assert {"app", "bot.dialogue", "bot.handlers.staff", "web.open311", "models.tickets",
            "scheduler.jobs"} <= names
    assert not any(name.startswith(("tests", "bench", "migrations")) for name in names)


def test_no_module_uses_another_packages_private_name() -> None:
    broken = []
    for module in modules():
        uses = [(line, source, name) for line, source, name in imports(module) if name]
        uses += _attribute_uses(module)
        for line, source, name in uses:
            if _private(name) and _package_of(source) != module.package:
                broken.append(f"{_where(module, line)} uses {source}.{name}")
            if _private(source.rsplit(".", 1)[-1]) and _package_of(source) != module.package:
                broken.append(f"{_where(module, line)} imports the private module {source}")
    assert broken == []


def _handler_imports(module: Module) -> list[str]:
    """Where a handler module imports another handler module (or the package's namespace)."""
    found = []
    for line, source, _name in imports(module):
        if source.startswith(HANDLERS + ".") and source != module.name or source == HANDLERS:
            found.append(f"{_where(module, line)} imports {source}")
    for line, source, _attr in _attribute_uses(module):
        if source == HANDLERS:
            found.append(f"{_where(module, line)} reaches into {source}")
    return found


def test_no_handler_module_imports_another() -> None:
    handlers = [m for m in modules() if m.package == HANDLERS and m.name != HANDLERS]
    assert len(handlers) >= 8
    assert [where for module in handlers for where in _handler_imports(module)] == []


@pytest.mark.parametrize("source, caught", [
    ("from bot.handlers import followup\n", True),
    ("from bot.handlers.staff import claim\n", True),
    ("import bot.handlers.vote\n", True),
    ("from bot import notify\nfrom bot.commands import staff_command\n", False),
])
def test_the_handler_check_catches_each_form(source: str, caught: bool) -> None:
    module = Module("bot.handlers.media", HANDLERS, PROJECT / "bot" / "handlers" / "media.py",
                    ast.parse(source))
    assert bool(_handler_imports(module)) == caught


def test_tickets_are_opened_in_one_place() -> None:
    """Chat, the simulator and Open311 all open tickets through bot.tickets.open_ticket; only
    the demo's made-up history writes tickets of its own."""
    makers = {m.name for m in modules() for node in ast.walk(m.tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "Ticket"}
    assert makers == {"bot.tickets", "models.demo_history"}


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [a.name for a in node.names] if isinstance(node, ast.Import) else []


def test_wechatpy_is_used_by_the_channels_and_the_outbound_api_alone() -> None:
    users = {m.name for m in modules() for node in ast.walk(m.tree)
             if any(name.split(".")[0] == "wechatpy" for name in _imported(node))}
    assert users == {"bot.channels.common", "bot.channels.wechat", "bot.channels.wecom", "bot.wxapi"}


def _raw_config_reads(tree: ast.AST) -> list[int]:
    """Lines reading the configuration as a raw tree: `….config["x"]` or `….config.get(...)`
    (Flask's own `app.config` aside)."""
    def raw(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "config"
                and not (isinstance(node.value, ast.Name) and node.value.id == "app"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Subscript) and raw(node.value)
            or isinstance(node, ast.Attribute) and node.attr == "get" and raw(node.value)]


def test_the_code_reads_typed_settings_not_the_raw_tree() -> None:
    reads = [_where(m, line) for m in modules() if not m.name.startswith("settings")
             for line in _raw_config_reads(m.tree)]
    assert reads == []
    assert sorted(_raw_config_reads(ast.parse('s.config.get("wecom", {})\ns.config["wechat"]\n'))) == [1, 2]
    assert _raw_config_reads(ast.parse('app.config["MAX_CONTENT_LENGTH"] = 1\ns.config.wecom\n')) == []


def _code_lists(tree: ast.AST, codes: frozenset[str]) -> list[tuple[int, list[str]]]:
    """Literals that list category codes, or map them to words: (line, the codes in it).

    Three or more codes in one tuple, list or set, or as the keys of a dict whose values are
    words, are a copy of the table. A dict from codes to data of another kind (the demo's
    share of reports per category, a category's deadline) refers to categories, and may.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict) and all(isinstance(v, ast.Constant) and isinstance(v.value, str)
                                                for v in node.values):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        named = [i.value for i in items if isinstance(i, ast.Constant) and i.value in codes]
        if len(set(named)) >= 3:
            found.append((node.lineno, named))
    return found


def test_category_codes_are_defined_once() -> None:
    from models.categories import CODES

    codes = frozenset(CODES)
    copies = [f"{_where(m, line)}: {', '.join(named)}" for m in modules()
              if m.name != "models.categories" for line, named in _code_lists(m.tree, codes)]
    assert copies == []
    table = next(m for m in modules() if m.name == "models.categories")
    assert len(_code_lists(table.tree, codes)) == 0  # the table is rows, one code each
    assert len(CODES) == len(set(CODES)) == 15


@pytest.mark.parametrize("source, copies", [
    ('CATEGORIES = ("elevator", "fire_safety", "security")\n', 1),
    ('NAMES = {"elevator": "电梯", "water": "水", "noise": "噪音"}\n', 1),
    ('GROUPS = {"设施": ("elevator", "lighting", "water")}\n', 1),
    ('REPORTS = {"elevator": (14, ["坏了"]), "water": (9, []), "noise": (6, [])}\n', 0),
    ('OVERRIDES = {"facilities": {"resolve": "7d"}, "parking": {"resolve": "7d"}}\n', 0),
])
def test_the_category_check_catches_a_copy(source: str, copies: int) -> None:
    from models.categories import CODES

    assert len(_code_lists(ast.parse(source), frozenset(CODES))) == copies


@pytest.mark.parametrize("source, expected", [
    ("from bot.handlers import report\nreport._create(1)\n", ["bot.handlers.report._create"]),
    ("import bot.handlers.report\nbot.handlers.report._create(1)\n", ["bot.handlers.report._create"]),
    ("from bot.handlers.report import _create\n", ["bot.handlers.report._create"]),
    ("from bot.handlers.report import report\nfrom models import tickets\ntickets.record\n", []),
])
def test_the_private_name_check_catches_each_form(source: str, expected: list[str]) -> None:
    """The checks above can fail: each way of reaching a private name is seen."""
    module = Module("web.example", "web", PROJECT / "web" / "example.py", ast.parse(source))
    uses = [(s, n) for _l, s, n in imports(module) if n] + [(s, n) for _l, s, n in _attribute_uses(module)]
    assert [f"{s}.{n}" for s, n in uses if _private(n)] == expected


def _layout_places() -> list[str]:
    """The paths named in the first column of the README's Layout table."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return [path for line in table.splitlines() if line.startswith("| `")
            for path in re.findall(r"`([^`]+)`", line.split("|")[1])]


def test_the_readme_layout_names_what_is_there() -> None:
    places = _layout_places()
    missing = [p for p in places if not (PROJECT / p.rstrip("/")).exists()]
    assert missing == []
    if not (PROJECT / ".git").exists():
        pytest.skip("the layout is checked against git's list of files; this copy has no .git")
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True,
                             check=True).stdout.split()
    top = {path.split("/")[0] + ("/" if "/" in path else "") for path in tracked}
    bot = {path for path in tracked if re.fullmatch(r"bot/[a-z_]+\.py", path)} - {"bot/__init__.py"}
    named = set(places) | {"README.md"} | {p.split("/")[0] + "/" for p in places if "/" in p}
    unnamed = sorted(p for p in top | bot if p not in named and not p.startswith("."))
    assert unnamed == []
