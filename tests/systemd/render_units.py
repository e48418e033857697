#!/usr/bin/env python3
"""Render the `files` attribute of nixos/unit.nix (JSON from nix-instantiate) to systemd unit files.

usage: nix-instantiate --eval --strict --json nixos/unit.nix ... | render_units.py OUTDIR

Rules (the same NixOS uses for serviceConfig): bools -> yes/no, ints -> decimal, lists -> one line per
element, "" -> an empty assignment (a reset, e.g. CapabilityBoundingSet=). Like NixOS, nothing is
escaped for specifiers here ('%' in environment values is already doubled by unit.nix), and each
Environment= entry is written as NixOS writes it: builtins.toJSON "NAME=value".
"""
import json
import os
import sys


def value(key, v):
    if isinstance(v, bool):
        s = "yes" if v else "no"
    elif isinstance(v, int):
        s = str(v)
    elif isinstance(v, str):
        s = v
    else:
        raise SystemExit(f"render_units: unsupported value for {key}: {v!r}")
    if "\n" in s:
        raise SystemExit(f"render_units: newline in {key}")
    if key == "Environment":
        # NixOS: Environment=${builtins.toJSON "NAME=value"}
        s = json.dumps(s, ensure_ascii=False)
    return s


def render(unit):
    out = []
    for section in ("Unit", "Service", "Socket", "Install"):
        if section not in unit:
            continue
        out.append(f"[{section}]")
        for key in sorted(unit[section]):
            v = unit[section][key]
            for item in v if isinstance(v, list) else [v]:
                out.append(f"{key}={value(key, item)}")
        out.append("")
    unknown = set(unit) - {"Unit", "Service", "Socket", "Install"}
    if unknown:
        raise SystemExit(f"render_units: unknown sections {sorted(unknown)}")
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    data = json.load(sys.stdin)
    os.makedirs(outdir, exist_ok=True)
    for name, unit in sorted(data["files"].items()):
        path = os.path.join(outdir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# Rendered from nixos/unit.nix by tests/systemd/render_units.py; do not edit.\n")
            f.write(render(unit))
        print(path)


if __name__ == "__main__":
    main()
