#!/usr/bin/env python3
"""CycloneDX 1.5 SBOM (JSON) of the educoin binary, from `cargo metadata` and Cargo.lock.

Every package of Cargo.lock is listed with its version, purl, declared license and the SHA-256 that
Cargo.lock pins. `scope` tells a scanner what ends up in the binary: "required" for crates reachable
from educoin through normal dependencies, "excluded" for those only reachable through build scripts,
proc macros or dev-dependencies (tests, benches). Platform-specific crates count as required
even when they are not compiled for Linux: over-reporting is the safe side for a scanner.

The document is deterministic (no timestamp, serial number derived from Cargo.lock), so CI's copy and
the flake's `packages.sbom` are byte-identical for the same Cargo.lock.

usage: scripts/sbom.py [--metadata FILE] [--lock FILE] [-o OUT]
  --metadata: output of `cargo metadata --format-version 1 --locked` (default: run it)
Needs python3 only (and cargo when --metadata is not given).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def purl(name: str, version: str) -> str:
    return f"pkg:cargo/{name}@{version}"


def spdx_expression(raw: str) -> str:
    # Old crates write "MIT/Apache-2.0", which SPDX spells "MIT OR Apache-2.0".
    parts = [p.strip() for p in raw.split("/")]
    return " OR ".join(parts) if len(parts) > 1 else raw.strip()


def required_ids(metadata: dict) -> set:
    """Packages reachable from the workspace members through normal (non-build, non-dev) edges."""
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    # A proc macro runs in the compiler; neither it nor what only it uses is linked into the binary.
    proc_macros = {p["id"] for p in metadata["packages"]
                   if any("proc-macro" in t["kind"] for t in p["targets"])}
    todo = list(metadata["workspace_members"])
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if dep["pkg"] not in proc_macros and any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    return seen


def build(metadata: dict, lock_text: str) -> dict:
    lock = tomllib.loads(lock_text)
    checksums = {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}
    packages = {p["id"]: p for p in metadata["packages"]}
    ref = {pid: purl(p["name"], p["version"]) for pid, p in packages.items()}
    root_id = metadata["workspace_members"][0]
    root = packages[root_id]
    required = required_ids(metadata)

    components = []
    for pid, p in sorted(packages.items(), key=lambda kv: (kv[1]["name"], kv[1]["version"])):
        if pid == root_id:
            continue
        c = {
            "type": "library",
            "bom-ref": ref[pid],
            "name": p["name"],
            "version": p["version"],
            "scope": "required" if pid in required else "excluded",
            "purl": ref[pid],
        }
        if p.get("description"):
            c["description"] = " ".join(p["description"].split())
        if p.get("license"):
            c["licenses"] = [{"expression": spdx_expression(p["license"])}]
        checksum = checksums.get((p["name"], p["version"]))
        if checksum:
            c["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        refs = []
        if p.get("source") == CRATES_IO:
            refs.append({"type": "distribution",
                         "url": f"https://crates.io/api/v1/crates/{p['name']}/{p['version']}/download"})
        if p.get("repository"):
            refs.append({"type": "vcs", "url": p["repository"]})
        if refs:
            c["externalReferences"] = refs
        components.append(c)

    dependencies = []
    for node in sorted(metadata["resolve"]["nodes"], key=lambda n: ref[n["id"]]):
        dependencies.append({
            "ref": ref[node["id"]],
            "dependsOn": sorted({ref[d["pkg"]] for d in node["deps"]}),
        })

    serial = uuid.uuid5(uuid.NAMESPACE_URL, "educoin-sbom:" + hashlib.sha256(lock_text.encode()).hexdigest())
    app = {
        "type": "application",
        "bom-ref": ref[root_id],
        "name": root["name"],
        "version": root["version"],
        "purl": ref[root_id],
    }
    if root.get("description"):
        app["description"] = root["description"]
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py",
                                      "description": "cargo metadata + Cargo.lock to CycloneDX 1.5"}]},
            "component": app,
        },
        "components": components,
        "dependencies": dependencies,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metadata", type=Path)
    ap.add_argument("--lock", type=Path, default=REPO / "Cargo.lock")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    if args.metadata:
        metadata = json.loads(args.metadata.read_text())
    else:
        out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"],
                             cwd=REPO, check=True, capture_output=True, text=True).stdout
        metadata = json.loads(out)
    bom = build(metadata, args.lock.read_text())
    text = json.dumps(bom, indent=2, sort_keys=False) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
