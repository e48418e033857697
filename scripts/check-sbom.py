#!/usr/bin/env python3
"""Checks an SBOM made by scripts/sbom.py: valid CycloneDX 1.5 (the official JSON schema, strict, as
shipped by cyclonedx-python-lib, pinned in tests/services/requirements.txt), and every package of
Cargo.lock listed with its version, purl and Cargo.lock's checksum.

usage: scripts/check-sbom.py SBOM.json [Cargo.lock]
Exit 1 with every problem listed; a missing validator is a failure, not a skip.
"""

import json
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    text = Path(sys.argv[1]).read_text()
    lock = tomllib.loads(Path(sys.argv[2] if len(sys.argv) == 3 else REPO / "Cargo.lock").read_text())
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError as e:
        print(f"check-sbom: the CycloneDX validator is missing ({e}); "
              "pip install -r tests/services/requirements.txt", file=sys.stderr)
        return 1

    problems = []
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    if error is not None:
        problems.append(f"not valid CycloneDX 1.5: {error}")
    bom = json.loads(text)
    root = bom.get("metadata", {}).get("component", {})
    listed = {(c["name"], c["version"]): c for c in bom.get("components", [])}
    listed[(root.get("name"), root.get("version"))] = root
    for p in lock["package"]:
        c = listed.get((p["name"], p["version"]))
        if c is None:
            problems.append(f"{p['name']} {p['version']} (Cargo.lock) is not in the SBOM")
            continue
        if c.get("purl") != f"pkg:cargo/{p['name']}@{p['version']}":
            problems.append(f"{p['name']} {p['version']}: purl {c.get('purl')!r}")
        if "checksum" in p and c.get("hashes") != [{"alg": "SHA-256", "content": p["checksum"]}]:
            problems.append(f"{p['name']} {p['version']}: hashes {c.get('hashes')} differ from Cargo.lock")
    extra = set(listed) - {(p["name"], p["version"]) for p in lock["package"]}
    if extra:
        problems.append(f"not in Cargo.lock: {sorted(extra)}")
    unlicensed = [f"{c['name']} {c['version']}" for c in bom.get("components", []) if not c.get("licenses")]
    if unlicensed:
        problems.append(f"components without a license: {unlicensed}")
    if problems:
        print("\n".join(f"check-sbom: {p}" for p in problems), file=sys.stderr)
        return 1
    required = sum(c.get("scope") == "required" for c in bom["components"])
    print(f"SBOM {sys.argv[1]}: CycloneDX {bom['specVersion']} valid (strict schema); "
          f"{len(lock['package'])} Cargo.lock packages listed with version, purl and SHA-256 "
          f"({required} in the binary, {len(bom['components']) - required} build/dev only), "
          f"serial {bom['serialNumber']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
