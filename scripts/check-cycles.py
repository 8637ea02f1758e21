#!/usr/bin/env python3
"""Lists each Rust module's `crate::` imports and fails when modules import each other in a cycle.

    python3 scripts/check-cycles.py [--graph]

A module is a file under a crate's src/ (a directory's mod.rs is the directory's module); a
reference is any `crate::name` path in it (use lines and inline paths), resolved to the top-level
module `name` (or `dir::name` inside that directory). lib.rs and main.rs only declare and
re-export, so they are left out.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
CRATES = ["orchestrator-core", "orchestrator-grpc", "orchestrator-py"]
REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
GROUP = re.compile(r"\bcrate::\{([^}]*)\}")


def modules(src: str) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs") or f in ("lib.rs", "main.rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)[:-3].replace(os.sep, "::")
            out[rel[:-5] if rel.endswith("::mod") else rel] = os.path.join(dirpath, f)
    return out


def graph(src: str) -> dict[str, set[str]]:
    mods = modules(src)
    g: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"//[^\n]*", "", text)
        names = [(a, b) for a, b in REF.findall(text)]
        for grp in GROUP.findall(text):
            names += [(x.strip().split("::")[0], "") for x in grp.split(",") if x.strip()]
        for a, b in names:
            target = f"{a}::{b}" if b and f"{a}::{b}" in mods else a
            if target in mods and target != m and not m.startswith(target + "::") and not target.startswith(m + "::"):
                g[m].add(target)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, seen = [], set()
    for a in sorted(g):
        for b in sorted(g[a]):
            if a in g.get(b, set()) and (b, a) not in seen:
                seen.add((a, b))
                found.append([a, b])
    # longer cycles: depth-first search for back edges
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):]
                if len(cyc) > 2 and sorted(cyc) not in [sorted(c) for c in found]:
                    found.append(cyc)
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)
    return found


def main() -> int:
    bad = 0
    for crate in CRATES:
        g = graph(os.path.join(ROOT, crate, "src"))
        if "--graph" in sys.argv:
            print(f"{crate}:")
            for m in sorted(g):
                print(f"  {m} -> {', '.join(sorted(g[m])) or '-'}")
        for c in cycles(g):
            bad += 1
            print(f"{crate}: import cycle: {' -> '.join([*c, c[0]])}")
    if not bad:
        print("no import cycles in " + ", ".join(CRATES))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
