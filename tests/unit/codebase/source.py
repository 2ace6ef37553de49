"""Reading adapter/ as source: every module with its dotted name and syntax tree, and what it imports.

Shared by the tests that keep the codebase's own rules (layering, names, module size); they read the code,
never import it, so a rule holds for code no test happens to load.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ADAPTER = ROOT / "adapter"


@dataclass(frozen=True)
class Module:
    """One module of the package: where it is, its dotted name, its text and syntax tree."""

    path: Path
    name: str
    text: str

    @cached_property
    def tree(self) -> ast.Module:
        """The module's syntax tree."""
        return ast.parse(self.text, filename=str(self.path))

    @property
    def relative(self) -> str:
        """The path from the repository root, with forward slashes."""
        return self.path.relative_to(ROOT).as_posix()

    @property
    def package(self) -> str:
        """The package a relative import starts from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def module_name(path: Path) -> str:
    """``adapter/openfin/frames.py`` -> ``adapter.openfin.frames``; a package's ``__init__`` names it."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def adapter_modules() -> Iterator[Module]:
    """Every module under adapter/, in a stable order."""
    for path in sorted(ADAPTER.rglob("*.py")):
        yield Module(path, module_name(path), path.read_text("utf-8"))


def parse(text: str, name: str) -> Module:
    """A module made from ``text`` as if it lived at ``name`` (how the tests prove their own checks bite)."""
    return Module(ROOT.joinpath(*name.split(".")).with_suffix(".py"), name, text)


def imported_modules(module: Module) -> set[str]:
    """Every module ``module`` imports, anywhere in it (functions and ``TYPE_CHECKING`` blocks included),
    relative imports resolved; ``from a import b`` counts as importing ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.package.split(".")
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def within(name: str, package: str) -> bool:
    """True when ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")
