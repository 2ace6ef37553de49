"""A small mutation run: change one thing in a module, run the tests that cover it, see whether they notice.

Each mutant is one change to the module's syntax tree (a comparison flipped, a condition negated, ``and``
swapped for ``or``, a number moved by one, a returned value replaced by ``None``, a call statement deleted).
A mutant the tests fail on is *killed*; one they pass on has *survived*: either the tests miss a behaviour
or the change makes no difference (an equivalent mutant), and docs/testing.md says which for each.

The source files are never edited. For each mutant a child process is forked from a parent that has
already imported pytest and the heavy third-party libraries (not ``adapter``), installs an import hook that
compiles the mutated tree in place of the module, and runs the module's test selection in-process with
``pytest.main``. A child that outlives the timeout is killed with its process group and counted apart.
Forking is POSIX-only, as is this tool: it is a developer's check, not part of ``make test``.

    python tools/mutation.py                      # every configured module
    python tools/mutation.py adapter/bridge/access.py
    python tools/mutation.py --list adapter/bridge/access.py
    python tools/mutation.py --show adapter/bridge/access.py:12
"""

from __future__ import annotations

import argparse
import ast
import importlib.abc
import importlib.machinery
import io
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent

# The fast test selection of each module: the unit tests of the module and of its direct users that need
# no socket to the outside world. A mutant only integration tests would catch counts as a survivor here.
SELECTIONS: dict[str, tuple[str, ...]] = {
    "adapter/servicenow/validation.py": (
        "tests/unit/servicenow/test_validation.py",
        "tests/unit/servicenow/test_validation_properties.py",
    ),
    "adapter/servicenow/query_values.py": (
        "tests/unit/servicenow/test_query_values.py",
        "tests/unit/bridge/test_intent_queries.py",
    ),
    "adapter/bridge/access.py": (
        "tests/unit/bridge/test_access.py",
        "tests/unit/bridge/test_search.py",
        "tests/security/test_access_control.py",
        "tests/security/test_search_input.py",
    ),
    "adapter/bridge/contexts.py": (
        "tests/unit/bridge/test_contexts.py",
        "tests/unit/fdc3/test_finos_schemas.py",
    ),
    "adapter/bridge/changes.py": (
        "tests/unit/bridge/test_changes.py",
        "tests/unit/bridge/test_watched_tables.py",
        "tests/unit/bridge/test_notifications.py",
    ),
    "adapter/bridge/fairness.py": ("tests/unit/bridge/test_fairness.py",),
    "adapter/bridge/search.py": (
        "tests/unit/bridge/test_search.py",
        "tests/security/test_search_input.py",
    ),
    "adapter/bridge/messages.py": (
        "tests/unit/bridge/test_messages.py",
        "tests/unit/bridge/test_connect_payload.py",
        "tests/unit/bridge/test_search.py",
        "tests/unit/bridge/test_schemas.py",
    ),
    "adapter/bridge/actions.py": (
        "tests/unit/bridge/test_actions.py",
        "tests/unit/bridge/test_intent_handlers.py",
    ),
    "adapter/bridge/intents.py": (
        "tests/unit/bridge/test_intent_handlers.py",
        "tests/unit/bridge/test_intent_queries.py",
        "tests/unit/bridge/test_intent_access.py",
        "tests/unit/bridge/test_intent_create.py",
        "tests/unit/bridge/test_intent_views.py",
    ),
    "adapter/bridge/broadcast.py": (
        "tests/unit/bridge/test_broadcaster.py",
        "tests/unit/bridge/test_read_back_queue.py",
        "tests/unit/bridge/test_watched_tables.py",
        "tests/unit/bridge/test_poll_read_back.py",
    ),
    "adapter/bridge/service.py": (
        "tests/unit/bridge/test_service.py",
        "tests/unit/bridge/test_service_lifecycle.py",
        "tests/unit/bridge/test_event_publisher.py",
    ),
    "adapter/bridge/publisher.py": ("tests/unit/bridge/test_event_publisher.py",),
}

# Exit codes of pytest.main: 0 all passed, 1 some failed; anything else means the run itself went wrong.
PASSED, FAILED = 0, 1

COMPARISON_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
# The boundary of each ordering, so that an off-by-one in a limit shows.
BOUNDARY_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {ast.Add: ast.Sub, ast.Sub: ast.Add}


@dataclass(frozen=True)
class Mutant:
    """One change to one node of a module's tree, found again by its index in a deterministic walk."""

    index: int
    line: int
    column: int
    description: str


@dataclass
class ModuleResult:
    """How the test selection fared against every mutant of one module."""

    module: str
    mutants: int = 0
    killed: int = 0
    timeouts: int = 0
    errors: int = 0
    survived: list[dict[str, object]] = field(default_factory=list)
    timed_out: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0


def _symbol(node: ast.AST) -> str:
    return {
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.In: "in",
        ast.NotIn: "not in",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.Add: "+",
        ast.Sub: "-",
        ast.And: "and",
        ast.Or: "or",
    }[type(node)]


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        and isinstance(body, list)
        and bool(body)
        and body[0] is node
    )


class _Walker:
    """Yields every mutation point of a tree in one fixed order; applying point ``k`` changes the tree."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.skipped: set[int] = set()
        self._mark_unmutated(tree)

    def _mark_unmutated(self, tree: ast.Module) -> None:
        """Annotations and ``if TYPE_CHECKING:`` blocks do not run, so mutating them says nothing."""
        for node in ast.walk(tree):
            hidden: list[ast.AST] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden.extend(a.annotation for a in _all_args(node.args) if a.annotation is not None)
                if node.returns is not None:
                    hidden.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                hidden.append(node.annotation)
            elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                hidden.append(node)
            for root in hidden:
                self.skipped.update(id(inner) for inner in ast.walk(root))

    def points(self) -> Iterator[tuple[ast.AST, ast.AST | None, str, str]]:
        """(node, parent, kind, description) for every mutation, in tree order."""
        stack: list[tuple[ast.AST, ast.AST | None]] = [(self.tree, None)]
        while stack:
            node, parent = stack.pop()
            if id(node) in self.skipped or _is_docstring(node, parent):
                continue
            yield from self._node_points(node, parent)
            children = list(ast.iter_child_nodes(node))
            stack.extend((child, node) for child in reversed(children))

    def _node_points(
        self, node: ast.AST, parent: ast.AST | None
    ) -> Iterator[tuple[ast.AST, ast.AST | None, str, str]]:
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                swap = COMPARISON_SWAPS.get(type(op))
                if swap is not None:
                    yield node, parent, f"cmp:{position}", f"{_symbol(op)} -> {_symbol(swap())}"
                boundary = BOUNDARY_SWAPS.get(type(op))
                if boundary is not None:
                    yield node, parent, f"bound:{position}", f"{_symbol(op)} -> {_symbol(boundary())}"
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            yield node, parent, "boolop", f"{_symbol(node.op)} -> {_symbol(other)}"
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC_SWAPS:
            yield node, parent, "arith", f"{_symbol(node.op)} -> {_symbol(ARITHMETIC_SWAPS[type(node.op)]())}"
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
            value = node.value
            if isinstance(value, bool):
                yield node, parent, "const", f"{value} -> {not value}"
            elif isinstance(value, int):
                yield node, parent, "const", f"{value} -> {value + 1}"
                yield node, parent, "const-1", f"{value} -> {value - 1}"
            elif isinstance(value, float):
                yield node, parent, "const", f"{value} -> {value + 1}"
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                yield node, parent, "return", "return value -> None"
        elif isinstance(node, ast.Expr) and _is_call(node.value):
            yield node, parent, "delete", f"delete call {_callee(node.value)}()"
        if isinstance(node, ast.If | ast.While | ast.IfExp):
            yield node, parent, "negate", "condition negated"
        elif isinstance(node, ast.comprehension):
            for position in range(len(node.ifs)):
                yield node, parent, f"negate-if:{position}", "comprehension filter negated"

    def apply(self, index: int) -> Mutant:
        """Change the tree in place with mutation ``index`` and describe it."""
        for count, (node, parent, kind, description) in enumerate(self.points()):
            if count == index:
                _mutate(node, parent, kind)
                return Mutant(index, *_line(node), description)
        raise IndexError(f"the module has no mutant {index}")


def _line(node: ast.AST) -> tuple[int, int]:
    """Where ``node`` starts; a comprehension has no position of its own, its target has."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.expr | ast.stmt):
            return inner.lineno, inner.col_offset
    return 0, 0


def _all_args(args: ast.arguments) -> list[ast.arg]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every.extend(arg for arg in (args.vararg, args.kwarg) if arg is not None)
    return every


def _is_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) or (isinstance(node, ast.Await) and isinstance(node.value, ast.Call))


def _callee(node: ast.expr) -> str:
    call = node.value if isinstance(node, ast.Await) else node
    assert isinstance(call, ast.Call)
    return ast.unparse(call.func)


def _mutate(node: ast.AST, parent: ast.AST | None, kind: str) -> None:
    name, _, position = kind.partition(":")
    if name in ("cmp", "bound") and isinstance(node, ast.Compare):
        table = COMPARISON_SWAPS if name == "cmp" else BOUNDARY_SWAPS
        node.ops[int(position)] = table[type(node.ops[int(position)])]()
    elif name == "boolop" and isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif name == "arith" and isinstance(node, ast.BinOp):
        node.op = ARITHMETIC_SWAPS[type(node.op)]()
    elif name.startswith("const") and isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            node.value = not value
        elif isinstance(value, int | float):
            node.value = value - 1 if name == "const-1" else value + 1
    elif (name == "return" and isinstance(node, ast.Return)) or (
        name == "delete" and isinstance(node, ast.Expr)
    ):
        node.value = ast.Constant(value=None)
    elif name == "negate" and isinstance(node, ast.If | ast.While | ast.IfExp):
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif name == "negate-if" and isinstance(node, ast.comprehension):
        node.ifs[int(position)] = ast.UnaryOp(op=ast.Not(), operand=node.ifs[int(position)])
    else:
        raise ValueError(f"cannot apply {kind} to {type(node).__name__} under {type(parent).__name__}")


def mutants_of(path: Path) -> list[Mutant]:
    """Every mutant of the module at ``path``, without applying any."""
    walker = _Walker(ast.parse(path.read_text(), str(path)))
    return [
        Mutant(index, *_line(node), description)
        for index, (node, _parent, _kind, description) in enumerate(walker.points())
    ]


def mutated_code(path: Path, index: int) -> tuple[Mutant, ast.Module]:
    """The tree of the module with mutant ``index`` applied, line numbers those of the file."""
    tree = ast.parse(path.read_text(), str(path))
    mutant = _Walker(tree).apply(index)
    ast.fix_missing_locations(tree)
    return mutant, tree


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, tree: ast.Module, filename: str) -> None:
        self._code = compile(tree, filename, "exec")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self._code, module.__dict__)  # noqa: S102 - the point of the tool: run the mutated module


class _MutantFinder(importlib.abc.MetaPathFinder):
    """Answers the import of one module with the mutated tree; every other import goes on as usual."""

    def __init__(self, name: str, path: Path, tree: ast.Module) -> None:
        self._name = name
        self._path = path
        self._loader = _MutantLoader(tree, str(path))

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self._name:
            return None
        return importlib.machinery.ModuleSpec(fullname, self._loader, origin=str(self._path))


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _run_selection(tests: Sequence[str], module: str, path: Path, index: int | None) -> int:
    """In a forked child: install the mutant (if any), run the tests quietly, return pytest's exit code."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if index is not None:
        _mutant, tree = mutated_code(path, index)
        sys.meta_path.insert(0, _MutantFinder(module, path, tree))
    import pytest

    args = ["-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-o", "addopts=", *tests]
    return int(pytest.main(args))


def _fork_and_wait(
    tests: Sequence[str], module: str, path: Path, index: int | None, timeout: float
) -> int | None:
    """Pytest's exit code for the mutant, or None when it ran past the timeout and was killed."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = _run_selection(tests, module, path, index)
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


def _preload() -> None:
    """Import once in the parent what every child needs, so each fork starts warm; never ``adapter``."""
    import hypothesis
    import pydantic
    import pytest
    import structlog

    del hypothesis, pydantic, pytest, structlog


def run_module(
    relative: str, tests: Sequence[str], only: set[int] | None, out: io.TextIOBase
) -> ModuleResult:
    """Run every mutant (or those in ``only``) of one module against its selection."""
    path = ROOT / relative
    module = _module_name(path)
    result = ModuleResult(relative)
    started = time.monotonic()
    baseline = _fork_and_wait(tests, module, path, None, timeout=600)
    if baseline != PASSED:
        raise SystemExit(f"{relative}: the test selection fails without any mutant (exit {baseline})")
    # A mutant that loops forever is stopped after a few times the clean run.
    timeout = max(10.0, 4 * (time.monotonic() - started))
    lines = path.read_text().splitlines()
    for mutant in mutants_of(path):
        if only is not None and mutant.index not in only:
            continue
        result.mutants += 1
        code = _fork_and_wait(tests, module, path, mutant.index, timeout)
        source = lines[mutant.line - 1].strip() if mutant.line else ""
        if code is None:
            result.timeouts += 1
            result.timed_out.append({**asdict(mutant), "source": source})
        elif code == FAILED:
            result.killed += 1
        elif code == PASSED:
            result.survived.append({**asdict(mutant), "source": source})
            out.write(f"  survived {relative}:{mutant.line} #{mutant.index} {mutant.description}: {source}\n")
            out.flush()
        else:
            # Collection or import broke (an error at import time of the mutant): the tests noticed.
            result.errors += 1
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _report(results: Sequence[ModuleResult], out: io.TextIOBase) -> None:
    out.write("\n| module | mutants | killed | survived | timeouts | errors | score |\n")
    out.write("|---|---:|---:|---:|---:|---:|---:|\n")
    for result in results:
        caught = result.killed + result.timeouts + result.errors
        score = f"{100 * caught / result.mutants:.0f}%" if result.mutants else "-"
        out.write(
            f"| {result.module} | {result.mutants} | {result.killed} | {len(result.survived)} "
            f"| {result.timeouts} | {result.errors} | {score} |\n"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run, list or show the mutants of the configured modules."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: every configured module)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--show", metavar="PATH:INDEX", help="print the module with one mutant applied")
    parser.add_argument("--only", metavar="N,M", help="run only these mutant indices (one module)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    out: io.TextIOBase = sys.stdout  # type: ignore[assignment]
    if args.show:
        relative, _, index = args.show.rpartition(":")
        mutant, tree = mutated_code(ROOT / relative, int(index))
        out.write(f"# {relative}:{mutant.line} {mutant.description}\n{ast.unparse(tree)}\n")
        return 0
    modules = args.modules or list(SELECTIONS)
    unknown = [module for module in modules if module not in SELECTIONS]
    if unknown:
        parser.error(f"no test selection configured for {', '.join(unknown)}; add it to SELECTIONS")
    if args.list:
        for relative in modules:
            for mutant in mutants_of(ROOT / relative):
                out.write(f"{relative}:{mutant.line} #{mutant.index} {mutant.description}\n")
        return 0
    only = {int(part) for part in args.only.split(",")} if args.only else None
    os.chdir(ROOT)
    _preload()
    results = []
    for relative in modules:
        out.write(f"{relative}: {len(mutants_of(ROOT / relative))} mutants\n")
        out.flush()
        results.append(run_module(relative, SELECTIONS[relative], only, out))
    _report(results, out)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(result) for result in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
