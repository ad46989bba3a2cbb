"""Dependencies: declared once in pyproject.toml, pinned whole in requirements/<group>.txt, and
production's runtime set carries no test or bench tool, nor does the app import one."""
from __future__ import annotations

import ast
import re
import tomllib

import pytest

from tests.conftest import PROJECT

GROUPS = ("runtime", "test", "bench")
TOOLS = {"pytest", "hypothesis", "playwright", "werobot", "bottle", "lxml"}  # lxml: the Open311 test client's reader
TRAINING = {"scikit-learn"}  # the intent model's training only (requirements/model.txt)
APP = ["app.py", "settings.py", "bot", "commands", "intents", "models", "scheduler", "web", "migrations"]


def name(requirement: str) -> str:
    """The normalised project name of `Name[extra]==1.0` (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0]).lower()


def pins(group: str) -> dict[str, str]:
    lines = (PROJECT / "requirements" / f"{group}.txt").read_text(encoding="utf-8").splitlines()
    found = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(pair) == 2 for pair in found), f"{group}.txt: every line is name==version"
    return {name(n): v for n, v in found}


def declared() -> tuple[list[str], dict[str, list[str]]]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"], project["optional-dependencies"]


@pytest.mark.parametrize("group,extras", [("runtime", ()), ("test", ("test",)),
                                          ("bench", ("test", "bench"))])
def test_each_group_pins_what_pyproject_declares_at_its_version(group: str, extras: tuple[str, ...]) -> None:
    runtime, optional = declared()
    pinned = pins(group)
    for requirement in runtime + [r for extra in extras for r in optional[extra]]:
        version = requirement.split("==", 1)[1].split()[0]
        assert pinned.get(name(requirement)) == version, requirement


def test_the_groups_build_on_each_other_with_the_same_pins() -> None:
    runtime, test, bench = (pins(group) for group in GROUPS)
    assert runtime.items() <= test.items() <= bench.items()


def test_production_installs_no_test_or_bench_tool() -> None:
    assert not (TOOLS | TRAINING) & set(pins("runtime"))
    assert "werobot" not in pins("test")  # the bench's baseline only


def test_the_app_imports_no_test_or_bench_tool() -> None:
    modules = set()
    for place in APP:
        path = PROJECT / place
        for source in ([path] if path.is_file() else path.rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    assert not {m.lower() for m in modules} & TOOLS
    assert "tests" not in modules
