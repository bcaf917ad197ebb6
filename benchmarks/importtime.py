"""What a losscli command imports: ``python -X importtime`` per top-level package.

``report(commands)`` runs each command (through the launcher, so it is one fresh process)
with ``-X importtime`` and reads the tree Python prints on stderr (one line per module, in
the order imports finish: a module's own imports come before it, one indentation level
deeper). Per top-level package (``pandas``, ``rich``, ``typer``, ``pydantic``, ``dask``...):

- ``self_ms``: the time of its own modules' bodies;
- ``cumulative_ms``: the cumulative time of its outermost imports (an import of one of its
  modules not inside another of its modules) — what the command would save if nothing
  imported it, other packages it pulls in included (pyarrow's count includes pandas when
  pyarrow imports pandas);
- ``via``: the module whose import first brought it in (``-`` at top level).

Numbers are from one run (the median run by total, when several are made); import times
move by 10–20 % from run to run on a shared machine.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness import run_once


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    depth: int
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None


def parse(stderr: str) -> list[Node]:
    """The import tree (roots in import order) from ``-X importtime`` output."""
    pending: list[Node] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            self_us, cumulative, name = line[len("import time:"):].split("|")
            node = Node(name.strip(), int(self_us), int(cumulative),
                        (len(name) - len(name.lstrip(" ")) - 1) // 2)
        except ValueError:
            continue
        while pending and pending[-1].depth > node.depth:
            child = pending.pop()
            child.parent = node
            node.children.insert(0, child)
        pending.append(node)
    return pending


def _walk(nodes: list[Node]) -> Any:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def packages(roots: list[Node]) -> list[dict[str, Any]]:
    """Per top-level package: modules, self_ms, cumulative_ms, via (sorted by cumulative)."""
    out: dict[str, dict[str, Any]] = {}
    for node in _walk(roots):
        pkg = node.name.split(".")[0]
        entry = out.setdefault(pkg, {"package": pkg, "modules": 0, "self_ms": 0.0,
                                     "cumulative_ms": 0.0, "via": None})
        entry["modules"] += 1
        entry["self_ms"] += node.self_us / 1000
        ancestor = node.parent
        while ancestor is not None and ancestor.name.split(".")[0] != pkg:
            ancestor = ancestor.parent
        if ancestor is None:  # an outermost import of this package
            entry["cumulative_ms"] += node.cumulative_us / 1000
            if entry["via"] is None:
                entry["via"] = node.parent.name if node.parent is not None else "-"
    rows = sorted(out.values(), key=lambda e: -e["cumulative_ms"])
    for e in rows:
        e["self_ms"] = round(e["self_ms"], 1)
        e["cumulative_ms"] = round(e["cumulative_ms"], 1)
    return rows


def measure(argv: list[str], runs: int, cwd: Any = None) -> dict[str, Any]:
    """``python -X importtime ARGV`` ``runs`` times; the packages of the median run."""
    results = []
    for _ in range(max(1, runs)):
        run = run_once([sys.executable, "-X", "importtime", *argv], cwd=cwd)
        roots = parse(run.stderr)
        total = sum(r.cumulative_us for r in roots) / 1000
        results.append((total, run.returncode, roots))
    results.sort(key=lambda r: r[0])
    total, code, roots = results[len(results) // 2]
    pkgs = packages(roots)
    return {"argv": argv, "returncode": code, "total_ms": round(total, 1),
            "runs": len(results),
            "totals_ms": [round(r[0], 1) for r in results],
            "median_total_ms": round(statistics.median(r[0] for r in results), 1),
            "packages": pkgs,
            "slowest_modules": slowest_modules(roots),
            "imports": sorted(p["package"] for p in pkgs)}


def slowest_modules(stderr_roots: list[Node], count: int = 8) -> list[dict[str, Any]]:
    """The modules with the most self time (module bodies doing work at import)."""
    nodes = sorted(_walk(stderr_roots), key=lambda n: -n.self_us)[:count]
    return [{"module": n.name, "self_ms": round(n.self_us / 1000, 1)} for n in nodes]
