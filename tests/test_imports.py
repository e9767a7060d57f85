"""fusednet's own imports point downward: no module circles (DESIGN.md, the Python API layer).

The graph is read from the source with ``ast``: every ``import fusednet.x``, ``from . import x``
and ``from .x import y`` of every module of the package, at the top of a module or inside a
function (a lazy import still closes a circle: it only moves the failure to the first call).
Imports under ``if TYPE_CHECKING:`` do not run and are left out.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import fusednet

PACKAGE = "fusednet"
PACKAGE_DIR = Path(fusednet.__file__).parent

# The one lazy edge allowed to close a circle: a model saves and pickles itself through io
# (Sequential.save, __getstate__, __setstate__), and io builds Sequentials to load a file. io
# imports the model package at its top; the model imports io only inside those methods.
# (source module or package, target module): the source's function-level imports of the target.
ALLOWED_LAZY_EDGES = {("fusednet.model", "fusednet.io")}

# Modules that `import fusednet` must not load: callbacks and schedules come on first use
# (fusednet.__getattr__, the model's fit), the benchmarks with `python -m fusednet.bench`.
NOT_EAGER = ("fusednet.callbacks", "fusednet.schedules", "fusednet.bench", "fusednet.sklearn")

_SOURCE_SUFFIXES = (".py",)
_MODULE_SUFFIXES = _SOURCE_SUFFIXES + (".pyi",) + tuple(importlib.machinery.EXTENSION_SUFFIXES)


# ---- the graph -----------------------------------------------------------------------------------


def package_modules(pkg_dir: Path, pkg_name: str) -> dict:
    """{dotted name: path} of every module below pkg_dir: sources (path set) and compiled
    extensions or stubs (path None; they import nothing of the package)."""
    modules = {}
    for path in sorted(pkg_dir.rglob("*")):
        suffix = next((s for s in _MODULE_SUFFIXES if path.name.endswith(s)), None)
        if suffix is None or "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(pkg_dir).parts)
        parts[-1] = parts[-1][: -len(suffix)]
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join([pkg_name, *parts])
        if suffix in _SOURCE_SUFFIXES:
            modules[name] = path
        else:
            modules.setdefault(name, None)
    return modules


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self):
        self.found = []  # (ast node, lazy)
        self._depth = 0

    def _nested(self, node):
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node):
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":  # never runs: only the else branch counts
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node):
        self.found.append((node, self._depth > 0))

    visit_ImportFrom = visit_Import


def import_edges(pkg_dir: Path, pkg_name: str) -> list:
    """(source, target, lazy, "file:line") for every import of a package module by another."""
    modules = package_modules(pkg_dir, pkg_name)
    edges = []
    for module, path in modules.items():
        if path is None:
            continue
        visitor = _ImportVisitor()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        where_base = path.relative_to(pkg_dir.parent).as_posix()
        for node, lazy in visitor.found:
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _resolve_from(module, path.name == "__init__.py", node)
                # `from pkg import name`: the submodule pkg.name when there is one, else pkg.
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for target in targets:
                if target in modules and target != module:
                    edges.append((module, target, lazy, f"{where_base}:{node.lineno}"))
    return edges


def _allowed(edge) -> bool:
    source, target, lazy, _ = edge
    return lazy and any(
        (source == s or source.startswith(s + ".")) and target == t for s, t in ALLOWED_LAZY_EDGES
    )


def find_cycles(edges) -> list:
    """One (modules, circle) per strongly connected component of the graph: the modules that
    reach one another, and a shortest circle through the first of them as its edges."""
    graph = {}
    for e in edges:
        graph.setdefault(e[0], []).append(e)
        graph.setdefault(e[1], [])
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def strongconnect(v):  # Tarjan; the package graph is small enough for the recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for _, w, _, _ in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)

    cycles = []
    for comp in components:  # a shortest path back to the start, inside the component
        start = min(comp)
        paths, frontier = {start: []}, [start]
        found = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for e in graph[v]:
                    w = e[1]
                    if w == start:
                        found = paths[v] + [e]
                        break
                    if w in comp and w not in paths:
                        paths[w] = paths[v] + [e]
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        cycles.append((sorted(comp), found))
    return cycles


def _describe(component) -> str:
    modules, circle = component
    return f"{{{', '.join(modules)}}} import one another, e.g.\n" + "\n".join(
        f"  {s} -> {t} ({'lazy, ' if lazy else ''}{where})" for s, t, lazy, where in circle
    )


# ---- the checks ----------------------------------------------------------------------------------


def test_no_import_cycles():
    edges = [e for e in import_edges(PACKAGE_DIR, PACKAGE) if not _allowed(e)]
    cycles = find_cycles(edges)
    assert not cycles, "import circles in fusednet:\n" + "\n\n".join(map(_describe, cycles))


def test_the_model_imports_io_only_lazily():
    # io imports the model at its top, so the model's imports of io close a circle: they must
    # stay function-level (the exception above covers lazy ones only).
    edges = import_edges(PACKAGE_DIR, PACKAGE)
    io_to_model = [e for e in edges if e[0] == "fusednet.io" and e[1].startswith("fusednet.model")]
    assert io_to_model and not any(lazy for _, _, lazy, _ in io_to_model)
    model_to_io = [e for e in edges if e[0].startswith("fusednet.model") and e[1] == "fusednet.io"]
    assert model_to_io and all(_allowed(e) for e in model_to_io), model_to_io


def _write_package(root: Path, files: dict) -> Path:
    pkg = root / "pkg"
    pkg.mkdir()
    for name, text in files.items():
        (pkg / name).write_text(text)
    return pkg


def test_the_checker_finds_lazy_and_top_level_circles(tmp_path):
    pkg = _write_package(
        tmp_path,
        {
            "__init__.py": "from . import a\n",
            "a.py": (
                "from typing import TYPE_CHECKING\nfrom .b import f\n\n"
                "if TYPE_CHECKING:\n    from .d import g\n"
            ),
            "b.py": "import os\n\ndef f():\n    from . import c\n",
            "c.py": "import pkg.a\n",
            "d.py": "from .a import f\nfrom . import c\n",
        },
    )
    edges = import_edges(pkg, "pkg")
    assert ("pkg.b", "pkg.c", True, "pkg/b.py:4") in edges
    assert ("pkg.c", "pkg.a", False, "pkg/c.py:1") in edges
    assert not [e for e in edges if e[:2] == ("pkg.a", "pkg.d")]  # TYPE_CHECKING only
    (cycle,) = find_cycles(edges)
    assert cycle[0] == ["pkg.a", "pkg.b", "pkg.c"]
    assert [(s, t) for s, t, _, _ in cycle[1]] == [
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),
    ]
    assert "pkg.b -> pkg.c (lazy, pkg/b.py:4)" in _describe(cycle)


def test_import_fusednet_leaves_the_optional_modules_out():
    code = (
        "import sys, fusednet\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('fusednet')))"
    )
    loaded = _run_python(code).stdout.split()
    assert "fusednet.model" in loaded
    eager = [m for m in loaded if any(m == n or m.startswith(n + ".") for n in NOT_EAGER)]
    assert not eager, f"imported by `import fusednet`: {eager}"


def _run_python(code, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_DIR.parent)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


# Each module imported first thing in a fresh process: an import that works only after some other
# module was imported (a circle resolved by luck of order) fails. The processes are forked from one
# that has imported NumPy only (what is under test is fusednet's own order), one at a time.
_IMPORT_EACH = r"""
import importlib, os, subprocess, sys
import numpy
for name in sys.argv[1:]:
    if not hasattr(os, "fork"):  # a fresh interpreter each (slower)
        status = subprocess.run([sys.executable, "-c", "import " + name]).returncode
    else:
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(name)
            except BaseException as e:
                print(f"{name}: {type(e).__name__}: {e}", flush=True)
                os._exit(1)
            os._exit(0)
        status = os.waitpid(pid, 0)[1]
    if status:
        print(f"{name}: exit status {status}", flush=True)
"""


def test_every_module_imports_on_its_own():
    # __main__ modules run their program when imported: left out.
    # The adapters need their library: without it, their ImportError saying so is the behaviour.
    absent = {
        f"{PACKAGE}.{adapter}"
        for adapter, library in (("torch", "torch"), ("sklearn", "sklearn"))
        if importlib.util.find_spec(library) is None
    }
    names = [
        m
        for m, path in package_modules(PACKAGE_DIR, PACKAGE).items()
        if path is not None and path.name != "__main__.py" and m not in absent
    ]
    assert "fusednet.tape" in names and "fusednet.ops._gemm" in names
    r = _run_python(_IMPORT_EACH, *names)
    assert r.returncode == 0 and not r.stdout, (
        f"modules that fail to import on their own:\n{r.stdout}{r.stderr}"
    )
