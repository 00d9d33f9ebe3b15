#!/usr/bin/env python3
"""The import rules of docs/architecture.md, checked over src/: each top-level module imports
only what its row allows (no arrow runs backwards), and the files of engine/ import each other
without a cycle. Inside engine/, each file imports only what its row of the table in docs/architecture.md
allows. Test code (files ending in _tests.rs, and what follows #[cfg(test)]) is not
checked. Exit 1 with every violation listed."""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# module -> prefixes of `crate::...` paths it may use (its own module is always allowed).
ALLOWED = {
    "domain": [],
    "platform": ["domain"],
    "workspace": ["domain", "platform::secret_file"],
    "store": ["domain", "platform::ownership", "platform::secret_file", "platform::instance"],
    "config": [
        "domain",
        "workspace::CredentialPaths",
        # daemon.database is read by store/location.rs, the one place that knows engines.
        "store::Database",
        "store::PoolSettings",
        "store::redact_database",
    ],
    "engine": ["domain", "platform", "workspace", "store", "config"],
    "cli": ["domain", "platform", "workspace", "store", "config", "engine"],
}

USE = re.compile(r"crate::([a-z_]+(?:::[A-Za-z_]+)*)")


def code_of(path):
    """The file's lines up to its test module."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and "mod " in lines[i + 1]:
            return lines[:i]
    return lines


def paths_used(lines):
    """Every `crate::a::b` path, with `use crate::a::{b, c}` groups expanded."""
    text = "\n".join(l for l in lines if not l.lstrip().startswith("//"))
    out = set()
    for m in re.finditer(r"crate::([a-z_]+(?:::[A-Za-z_]+)*)::\{([^}]*)\}", text):
        for item in m.group(2).split(","):
            item = item.strip().split(" as ")[0].split("::")[0]
            if item and item != "self":
                out.add(f"{m.group(1)}::{item}")
            elif item == "self":
                out.add(m.group(1))
    for m in USE.finditer(text):
        out.add(m.group(1))
    return out


def engine_table():
    """The rows of the "may import (inside `engine/`)" table of docs/architecture.md:
    file stem -> the set it may import, or None for "any"."""
    doc = (SRC.parent / "docs" / "architecture.md").read_text()
    start = doc.index("| file | may import (inside `engine/`) |")
    table = {}
    for line in doc[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        files, allowed = [cell.strip() for cell in line.strip("|").split("|")]
        deps = set(re.findall(r"`([a-z_]+)`", allowed))
        for name in re.findall(r"`([a-z_]+)\.rs`", files):
            table[name] = None if "any" in allowed else deps
    return table


def against_table(graph):
    """Every engine file is in the table and imports only what its row allows."""
    table = engine_table()
    out = []
    for name, deps in sorted(graph.items()):
        if name not in table:
            out.append(f"engine/{name}.rs is not in docs/architecture.md's engine import table")
            continue
        allowed = table[name]
        extra = sorted(d for d in deps if d in graph and allowed is not None and d not in allowed)
        if extra:
            out.append(f"engine/{name}.rs imports {', '.join(extra)}: not in its row of docs/architecture.md")
    return out


def main():
    problems = []
    engine_graph = {}
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC)
        if len(rel.parts) < 2 or path.name.endswith("_tests.rs"):
            continue
        module = rel.parts[0]
        lines = code_of(path)
        for used in sorted(paths_used(lines)):
            top = used.split("::")[0]
            if top == module or top not in ALLOWED:
                continue
            if not any(used == a or used.startswith(a + "::") or a.split("::")[0] == used
                       and "::" not in a for a in ALLOWED[module]):
                problems.append(f"{rel}: {module}/ may not use crate::{used}")
        if module == "engine":
            me = path.stem if path.stem != "mod" else None
            if me:
                text = "\n".join(lines)
                deps = set(re.findall(r"(?:super|crate::engine)::([a-z_]+)", text))
                engine_graph[me] = {d for d in deps if d != me}
    # Cycles among engine files.
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for dep in sorted(engine_graph.get(node, ())):
            if dep not in engine_graph:
                continue
            if state.get(dep) == "open":
                cycle = trail[trail.index(dep):] + [dep]
                problems.append("engine/ import cycle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep, trail + [dep])
        state[node] = "done"

    for node in sorted(engine_graph):
        if node not in state:
            visit(node, [node])
    problems += against_table(engine_graph)
    if problems:
        print("\n".join(problems))
        return 1
    print(f"imports: {sum(1 for _ in SRC.rglob('*.rs'))} files, no backward arrow, no cycle in engine/, engine/ as its table says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
