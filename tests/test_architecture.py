"""The package's shape: no import circle anywhere (function-local imports included), one name
per module, and the book's tooling outside the package the chapters import."""

from __future__ import annotations

import ast
from pathlib import Path

import pynq_ia

PACKAGE = Path(pynq_ia.__file__).parent
ROOT = PACKAGE.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(folders=("pynq_ia", "tools")) -> dict[str, Path]:
    return {_module_name(path): path
            for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at module level or inside a function."""
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # `from pkg import mod` imports the module pkg.mod when there is one, else pkg
                candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                              else base for alias in node.names]
            else:
                continue
            for candidate in candidates:
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_the_package_or_its_tools():
    graph = import_graph(_modules())
    assert "pynq_ia.board.sessions" in graph and graph["pynq_ia.convert"], "the walk saw nothing"
    assert circles(graph) == []


def test_the_walk_finds_a_circle_made_of_function_local_imports(tmp_path):
    """The check can fail: a circle hidden in a function is one too."""
    modules = {"p.a": tmp_path / "a.py", "p.b": tmp_path / "b.py", "p": tmp_path / "__init__.py"}
    modules["p.a"].write_text("from p import b\n")
    modules["p.b"].write_text("def f():\n    from p.a import x\n")
    modules["p"].write_text("")
    assert circles(import_graph(modules)) == [["p.a", "p.b"]]


def test_no_two_modules_share_a_name():
    stems = {}
    for name, path in _modules().items():
        if path.name != "__init__.py":
            stems.setdefault(path.stem, []).append(name)
    shared = {stem: names for stem, names in stems.items() if len(names) > 1}
    assert not shared, shared


def test_the_book_tooling_is_not_in_the_course_package():
    for tool in ("book", "nbval_chapters", "pages"):
        assert not (PACKAGE / f"{tool}.py").exists()
        assert (ROOT / "tools" / f"{tool}.py").is_file()


def test_convert_and_hwbuild_each_hold_one_job():
    """Conversion does not compile word runners or patch hls4ml; the overlay build does not
    write the board package."""
    convert = (PACKAGE / "convert.py").read_text()
    hwbuild = (PACKAGE / "hwbuild.py").read_text()
    assert "subprocess" not in convert and "get_corrected_types" not in convert
    assert "def package" not in hwbuild and "pyproject" not in hwbuild
