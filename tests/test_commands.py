"""The operators' command line: `flask --app app <command>` offers exactly the contract's commands,
each registered from its own module in commands/ by the one `commands.init_app` call."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Iterator

import click
import pytest
from flask import Flask

import commands
from app import create_app
from tests.conftest import EXAMPLE

# Command -> its subcommands (None for a plain command), as CONTRACT.md and the README give them.
SURFACE: dict[str, set[str] | None] = {
    "init-db": None, "demo-data": None, "serve": None, "import-households": None,
    "staff": {"add", "list", "remove"}, "vote": {"create", "show", "close", "export"},
    "market": {"set"}, "notice": {"send"}, "scheduler": None, "jobs": {"list", "run"},
    "outbox": {"list", "retry", "deliver"},
    "stats": {"rebuild"},  # issue 16: count the /stats rollups again (`flask stats --json` stays)
    "board": {"publish", "unpublish"},
    "intents": {"corrections"},  # issue 13: staff corrections and residents' answers, for review
    "console": {"add-operator", "list-operators", "remove-operator"},  # issue 15: who signs in
    "export": {"tickets", "figures", "vote"},  # issue 17: spreadsheets for the street office
}
# Options the contract names; a rename would break operators' scripts.
OPTIONS = {
    ("import-households",): {"--replace"},
    ("staff", "add"): {"--id", "--channel", "--name", "--role", "--buildings", "--homes", "--categories"},
    ("vote", "create"): {"--title", "--kind", "--item", "--options", "--opens", "--closes"},
    ("vote", "show"): {"--json"},
    ("stats",): {"--json"},
    ("intents", "corrections"): {"--since", "-o"},
    ("console", "add-operator"): {"--name", "--level", "--estate", "--buildings"},
    ("export", "tickets"): {"--month", "--state", "--category", "--building", "-o"},  # issue 17
    ("export", "figures"): {"--month", "-o"},
    ("export", "vote"): {"-o"},
}
FLASK_OWN = {"routes", "shell", "run"}


@pytest.fixture
def cli_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on an empty SQLite file: enough to list its commands (nothing is run)."""
    app = create_app({"config_path": str(EXAMPLE),
                      "overrides": {"database.url": f"sqlite:///{tmp_path / 'linli.db'}"}})
    yield app
    app.extensions["linli"].close()


def _command(app: Flask, *path: str) -> click.Command:
    command: click.Command = app.cli
    for name in path:
        assert isinstance(command, click.Group), f"{' '.join(path)}: not a group"
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"no command flask {' '.join(path)}"
        command = found
    return command


def test_the_app_offers_exactly_the_contracts_commands(cli_app: Flask) -> None:
    ctx = click.Context(cli_app.cli)
    offered = {name: (set(group.commands) if isinstance(group, click.Group) else None)
               for name in cli_app.cli.list_commands(ctx) if name not in FLASK_OWN
               for group in [cli_app.cli.get_command(ctx, name)]}
    assert offered == SURFACE


@pytest.mark.parametrize("path", sorted(OPTIONS), ids=" ".join)
def test_each_command_keeps_the_options_the_contract_names(cli_app: Flask, path: tuple[str, ...]) -> None:
    given = {opt for param in _command(cli_app, *path).params for opt in param.opts}
    assert OPTIONS[path] <= given


def test_every_module_of_commands_is_registered_by_init_app(cli_app: Flask) -> None:
    modules = [importlib.import_module(f"commands.{info.name}")
               for info in pkgutil.iter_modules(commands.__path__)]
    assert modules, "commands/ has no modules"
    for module in modules:
        assert module in commands.GROUPS, f"{module.__name__} is not in commands.GROUPS"
        for command in module.COMMANDS:
            assert _command(cli_app, command.name) is command, f"flask {command.name} is not {module.__name__}'s"


def test_a_command_s_help_reaches_the_operator(cli_app: Flask) -> None:
    result = cli_app.test_cli_runner().invoke(args=["vote", "create", "--help"])
    assert result.exit_code == 0, result.output
    assert "--closes" in result.output and "Prints #N last" in result.output
