"""The layer rules of DESIGN.md held against the code: every import of an hqml module (found by
walking ``src/hqml`` with ``ast``) points to the same layer or one above it, modules import each
other without cycles, and no function imports an hqml module (except the ones that wrap an
optional heavy extra, listed below with their reason).

Known exceptions that belong to other work in flight are listed with a comment; the test fails
when one disappears (so the list shrinks) as well as when a new violation appears."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import hqml

ROOT = Path(hqml.__file__).parent

# DESIGN.md's layers, most basic first; a package may import its own layer and those before it.
# Packages DESIGN.md does not name sit where their imports put them: chem beside algorithms
# (molecular Hamiltonians for VQE), experiment (`hqml run`) after tracking, testing (the
# consistency checks) beside nn, limits (the memory price of a state, torch only), provenance
# (versions, commit, machine: stdlib, numpy and torch only) and accounting (provider calls' ledgers
# and budgets, standard library only) at the bottom.
# A package's ``__main__`` (``python -m hqml.bench``) is an entry point: it may import the CLI.
LAYERS: list[set[str]] = [
    {"circuit", "limits", "provenance", "accounting"},
    {"sim"},
    {"backends"},
    {"execute", "grad", "request", "derived"},
    {"noise", "mitigation"},
    {"nn", "testing"},
    {"kernels"},
    {"algorithms", "chem"},
    {"optimize"},
    {"analysis", "trainability"},
    {"qec", "control"},
    {"bench"},
    {"datasets"},
    {"runtime"},
    {"tracking"},
    {"experiment"},
    {"cli"},
    {"__init__", "__main__"},
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}

# function-level imports of hqml modules that keep an optional heavy extra lazy (the imported
# module imports the extra at its top): importer -> imported
LAZY_EXTRAS: dict[tuple[str, str], str] = {
    # the job service's app and store need the runtime extra (FastAPI, SQLAlchemy)
    ("hqml.cli.serve", "hqml.runtime.app"): "runtime",
    ("hqml.cli.serve", "hqml.runtime.store"): "runtime",
    ("hqml.cli.serve", "hqml.runtime.lease"): "runtime",
    # the QEC and calibration commands need stim/pymatching and gymnasium
    ("hqml.cli.qec", "hqml.qec.bench"): "qec",
    ("hqml.cli.qec", "hqml.qec.codes"): "qec",
    ("hqml.cli.control", "hqml.control.bench"): "control",
}

# Known violations, each (importer, imported, kind): none left.
KNOWN: set[tuple[str, str, str]] = set()


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _resolve(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The hqml modules an import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "hqml" or a.name.startswith("hqml.")]
    if node.level:
        base = module.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not (target == "hqml" or target.startswith("hqml.")):
        return []
    out = []
    for alias in node.names:  # `from .pkg import module` names a module when one exists
        sub = f"{target}.{alias.name}"
        rel = Path(*sub.split(".")[1:])
        if (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists():
            out.append(sub)
        else:
            out.append(target)
    return out


@functools.cache
def _imports() -> list[tuple[str, str, bool]]:
    """(importer, imported, at function level) for every hqml import in src/hqml."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        nested: set[int] = set()  # nodes inside a function
        typing_only: set[int] = set()  # nodes under `if TYPE_CHECKING:`
        for block in ast.walk(tree):
            if isinstance(block, (ast.FunctionDef, ast.AsyncFunctionDef)):
                nested.update(id(n) for n in ast.walk(block) if n is not block)
            elif isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
                typing_only.update(id(n) for n in ast.walk(block))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if id(node) in typing_only:
                    continue
                for target in _resolve(module, is_package, node):
                    if target != module:
                        out.append((module, target, id(node) in nested))
    return out


def _known(importer: str, imported: str, kind: str) -> bool:
    if (importer, imported, kind) in KNOWN:
        return True
    pkg = importer.rsplit(".", 1)[0]
    return (f"{pkg}.*", "*", kind) in KNOWN


def _violations() -> set[tuple[str, str, str]]:
    found = set()
    for importer, imported, function_level in _imports():
        if function_level and (importer, imported) not in LAZY_EXTRAS:
            found.add((importer, imported, "function"))
        a, b = _layer_of(importer), _layer_of(imported)
        if a not in RANK or b not in RANK:
            found.add((importer, imported, "unlisted layer"))
        elif RANK[b] > RANK[a] and not (importer.endswith(".__main__") and b == "cli"):
            found.add((importer, imported, "upward"))
    return found


def test_layers_point_downward_and_modules_import_lazily_only_for_extras():
    found = _violations()
    new = sorted(v for v in found if not _known(*v))
    assert not new, "imports against DESIGN.md's layer rules:\n" + "\n".join(map(str, new))


def test_known_exceptions_still_exist():
    """An exception fixed elsewhere leaves the list (so the list only shrinks)."""
    found = _violations()
    gone = sorted(k for k in KNOWN if "*" not in k[0] and k not in found)
    assert not gone, "fixed: remove from KNOWN:\n" + "\n".join(map(str, gone))


def _cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in _imports():
        graph.setdefault(importer, set()).add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


# cycles between modules, counting function-level imports, that other issues in flight own
KNOWN_CYCLES = [
    ["hqml.runtime.ray_pool", "hqml.runtime.worker"],  # issue 23 (runtime/)
]


def test_no_import_cycles_beyond_the_known_ones():
    cycles = [c for c in _cycles() if c not in KNOWN_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", ["hqml.execute", "hqml.grad", "hqml.request", "hqml.derived"])
def test_the_front_door_imports_no_concrete_backend(module):
    concrete = [
        b
        for a, b, _ in _imports()
        if a.startswith(module)
        and b.startswith("hqml.backends.")
        and b != "hqml.backends.base"
        and b != "hqml.backends.registry"
    ]
    assert not concrete, concrete
