"""The import graph of ``timebank/`` stays a house a newcomer can walk.

Walks every module with ``ast`` (imports inside functions count too: a lazy import still makes
one module depend on another) and checks two rules, with the layer order written in the README's
layout section:

* no import circle between modules;
* a package imports only packages of its own layer or of lower layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "timebank"

#: Lowest first; the same table is in README.md ("Layout"). A top-level module counts as a
#: package of its own name; ``timebank/__init__.py`` is ``__root__``.
LAYERS = [
    ("core", "config", "extensions", "i18n"),
    ("audit", "inbox"),
    ("orgs", "accounts"),
    ("catalogue", "jobs", "notify"),
    ("members",),
    ("ledger",),
    ("posts",),
    ("lists", "matching", "certificates", "scan", "measures", "units", "exchange",
     "teams"),
    ("reports", "recognition"),
    ("api", "home", "cli", "demo", "models", "ops", "__root__"),
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _targets(mods: dict[str, Path], module: str, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".")
            if mods[module].name != "__init__.py":
                pkg = pkg[:-1]
            pkg = pkg[:len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([base] if base else []))
        # "from timebank.posts import operations" depends on the submodule, not the package.
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
    out = []
    for name in names:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append(name)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module].update(_targets(mods, module, node))
    # Importing "timebank.x.y" runs timebank/__init__.py, but that is Python's package
    # machinery, not a dependency the module chose.
    for deps in graph.values():
        deps.discard("timebank")
    return graph


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__root__"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, deps in sorted(graph.items()):
        for dep in sorted(deps):
            a, b = package_of(module), package_of(dep)
            if a != b and RANK[b] > RANK[a]:
                bad.append(f"{module} (layer {RANK[a]}) imports {dep} (layer {RANK[b]})")
    return bad


def test_every_package_has_a_layer():
    missing = {package_of(m) for m in import_graph()} - set(RANK)
    assert not missing, f"add these packages to LAYERS here and in the README: {missing}"


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_no_import_runs_up_a_layer():
    assert upward_imports(import_graph()) == []


def test_no_module_is_too_big_to_hold():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}


def test_the_checks_see_what_they_should():
    """The walker itself: a circle and an upward import planted in a graph are both found."""
    graph = {"timebank.core.a": {"timebank.posts.b"}, "timebank.posts.b": {"timebank.core.a"}}
    assert circles(graph) == [["timebank.core.a", "timebank.posts.b"]]
    assert upward_imports(graph) == ["timebank.core.a (layer 0) imports timebank.posts.b (layer 6)"]
    # And the real graph is not empty (a broken walker would pass the rules trivially).
    real = import_graph()
    assert "timebank.posts.operations.claims" in real["timebank.posts.operations"]
    assert "timebank.ledger.operations" in real["timebank.posts.operations.records"] or any(
        d.startswith("timebank.ledger") for d in real["timebank.posts.operations.records"])


def test_the_readme_shows_the_same_layers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for i, layer in enumerate(LAYERS):
        for name in layer:
            if name != "__root__":
                assert f"`{name}`" in readme, f"README layout section lacks `{name}`"
