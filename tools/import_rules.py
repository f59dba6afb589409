"""The two import rules of DESIGN.md that import-linter's contracts do not express (run by `make lint`):

* no import circle between modules (imports under ``if TYPE_CHECKING:`` are left out), and
* no private name (``_x``) imported from another folder.

Usage: ``python tools/import_rules.py [src/skyhive]``; exit status 1 and one line per finding when any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp


def private_imports(root: Path) -> list[str]:
    """``from skyhive.a.b import _x`` where the importing module is not in folder ``skyhive/a``."""
    out: list[str] = []
    pkg = root.name
    for path in sorted(root.rglob("*.py")):
        folder = ".".join(path.relative_to(root.parent).parent.parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith(pkg):
                continue
            module = node.module or ""
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                target_folder = module if (root.parent / Path(*module.split("."))).is_dir() \
                    else module.rpartition(".")[0]
                if private and target_folder != folder:
                    out.append(f"{path}:{node.lineno}: imports private {alias.name} from {module}")
    return out


def circles(package: str) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for start in succ:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on.add(v)
            if i < len(succ[v]):
                work.append((v, i + 1))
                w = succ[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "src/skyhive").resolve()
    sys.path.insert(0, str(root.parent))
    problems = [f"import circle: {' <-> '.join(c)}" for c in circles(root.name)] + private_imports(root)
    for line in problems:
        print(line)
    if not problems:
        print(f"import rules: no circles, no private names imported from another folder ({root.name})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
