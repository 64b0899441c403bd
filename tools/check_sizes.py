"""One job per module and class, checked by `make lint`: no module of an app over MAX_MODULE_LINES
lines and no class over MAX_CLASS_LINES (docs/architecture.md, "Sizes"). Migrations are made by
Django; the project package (settings) and the stand-alone client are not apps."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
NOT_APPS = {"plotserver"}


def apps() -> list[str]:
    """The packages the import contracts name (pyproject.toml), but the project package."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [name for name in config["tool"]["importlinter"]["root_packages"] if name not in NOT_APPS]


def oversized(path: Path) -> list[str]:
    text = path.read_text()
    where = path.relative_to(ROOT)
    found = []
    if (lines := text.count("\n")) > MAX_MODULE_LINES:
        found.append(f"{where}: {lines} lines (at most {MAX_MODULE_LINES} a module)")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef) and (length := node.end_lineno - node.lineno + 1) > MAX_CLASS_LINES:
            found.append(f"{where}:{node.lineno}: class {node.name} is {length} lines (at most {MAX_CLASS_LINES})")
    return found


def main() -> int:
    found = [
        problem
        for app in apps()
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for problem in oversized(path)
    ]
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
