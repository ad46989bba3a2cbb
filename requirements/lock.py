"""`make lock`: pin each dependency group of pyproject.toml, with everything it pulls in.

For each group a clean virtual environment gets the runtime dependencies and the groups
it builds on, and `pip freeze` of it becomes requirements/<group>.txt. Each file is whole:
installing it alone gives that group's environment (runtime.txt is production's).
Packages keep the versions the files already pin, unless `--upgrade` is given (or the
pyproject asks for another version, which then fails loudly: rerun with `--upgrade`).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
# group -> the optional groups installed with the runtime; `model` only once pyproject has it
GROUPS = {"runtime": (), "test": ("test",), "bench": ("test", "bench"), "model": ("test", "model")}


def pinned_now() -> list[str]:
    """Every pin in the current files, once each (they agree: one resolution made them)."""
    pins = {line.strip() for group in GROUPS if (HERE / f"{group}.txt").exists()
            for line in (HERE / f"{group}.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}
    return sorted(pins, key=str.lower)


def freeze(requirements: list[str], keep: list[str]) -> str:
    """Install the requirements into a fresh environment and return its `pip freeze`."""
    with tempfile.TemporaryDirectory(prefix="linli-lock-") as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        constraints = Path(folder) / "keep.txt"
        constraints.write_text("\n".join(keep) + "\n", encoding="utf-8")
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-c", str(constraints), *requirements], check=True)
        return subprocess.run([python, "-m", "pip", "freeze", "--disable-pip-version-check"],
                              check=True, capture_output=True, text=True).stdout


def main() -> None:
    project = tomllib.loads((HERE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    keep = [] if "--upgrade" in sys.argv[1:] else pinned_now()
    for group, builds_on in GROUPS.items():
        if not set(builds_on) <= set(extras):
            continue
        wanted = project["dependencies"] + [r for extra in builds_on for r in extras[extra]]
        pinned = sorted(freeze(wanted, keep).splitlines(), key=str.lower)
        header = (f"# The {group} environment, pinned by `make lock` (requirements/lock.py) from "
                  f"pyproject.toml:\n# {'dependencies' + ''.join(f' + [{e}]' for e in builds_on)}, "
                  "and everything they pull in. Python "
                  f"{sys.version_info.major}.{sys.version_info.minor}.\n")
        (HERE / f"{group}.txt").write_text(header + "\n".join(pinned) + "\n", encoding="utf-8")
        print(f"requirements/{group}.txt: {len(pinned)} packages")


if __name__ == "__main__":
    main()
