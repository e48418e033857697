#!/usr/bin/env python3
"""The module import graph of src/ and its cycles.

Every file of src/ is a module (src/lib.rs and src/main.rs the crate roots, src/a/mod.rs `a`,
src/a/b.rs `a::b`). A file depends on the module each `crate::...` / `super::...` path it names
resolves to (the longest existing module prefix of the path), and on each child module whose items it
names (`child::Item`). A module naming its own ancestor (the parent facade's shared types) is not
counted. Strongly connected components of more than one file are cycles.

usage: scripts/check-imports.py [--allow N]   exit 1 when a cycle has more than N files (default 0)
"""
import argparse
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_of(path):
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def paths_in(text):
    text = re.sub(r"//[^\n]*", "", text)
    # `use crate::a::{b, c::d}` and plain `crate::a::b` paths in code.
    found = []
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+)(::\{([^;]*?)\})?", text, re.S):
        head = [m.group(1)] + [p for p in m.group(2).split("::") if p]
        group = m.group(4)
        if group:
            for item in re.split(r",(?![^{]*\})", group):
                item = item.strip().split(" as ")[0]
                if item and item != "self":
                    found.append(head + [p for p in re.split(r"::|\{|\}", item) if p.strip()])
                else:
                    found.append(head)
        else:
            found.append(head)
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow", type=int, default=0)
    args = ap.parse_args()
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_of(f): f for f in files}
    graph = {m: set() for m in modules}
    for f in files:
        me = module_of(f)
        text = f.read_text(encoding="utf-8")
        # Paths relative to this module (`child::Item`, `self::child`): a module uses its children.
        for m in re.finditer(r"(?<![:\w])(?:self::)?(\w+)::", re.sub(r"//[^\n]*", "", text)):
            child = me + (m.group(1),)
            if child in modules:
                graph[me].add(child)
        for path in paths_in(text):
            if path[0] == "crate":
                target = list(path[1:])
            else:  # super::, relative to the file's module (mod.rs files are their module)
                base = list(me)
                while path and path[0] == "super":
                    base = base[:-1]
                    path = path[1:]
                target = base + list(path)
            while target and tuple(target) not in modules:
                target = target[:-1]
            t = tuple(target)
            # A module using what its own ancestor declares (`super::StoreError`, the facade's shared
            # types) is the ordinary parent/child shape, not a cycle between layers: not counted.
            if t != me and t in modules and t != () and me[: len(t)] != t:
                graph[me].add(t)
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    cycles = sorted((c for c in sccs if len(c) > 1), key=len, reverse=True)
    edges = sum(len(v) for v in graph.values())
    print(f"{len(files)} files, {edges} module dependencies, {len(cycles)} cycle(s)")
    for c in cycles:
        names = sorted("::".join(m) for m in c)
        print(f"cycle of {len(c)} files: {', '.join(names)}")
    worst = max((len(c) for c in cycles), default=0)
    return 1 if worst > args.allow else 0


if __name__ == "__main__":
    sys.exit(main())
