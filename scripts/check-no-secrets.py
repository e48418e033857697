#!/usr/bin/env python3
"""No secret in the image, the rendered unit or the module's output; secrets reach the process only
as files (X_FILE, systemd credentials, Kubernetes secret files).

Every secret the server knows (the settings marked secret in src/config/settings.rs) gets a fresh random canary value,
written to a file outside the store the way an operator provides it. Then:
  - the image: its file list is built from what flake.nix's buildLayeredImage is given and
    nixos/image.nix (the image's config, evaluated): the binary (the build passed as argument) at the
    package path of Entrypoint, the CA bundle (contents), the empty state directory and /tmp
    (extraCommands), and the config document itself (Env, Labels, Cmd, Healthcheck);
  - the unit: nixos/unit.nix rendered with every secret as a credential;
  - the module: nixos/module.nix evaluated (tests/nix/eval-module.nix) with every *File option set;
must not contain any canary value, a secret NAME=value assignment, a private key, or a file that
looks like an env file. Every secret must be deliverable as a credential (the module has its *File
option, the unit a LoadCredential named as the server reads it) and the module must refuse a secret
put in `settings` (they land in the world-readable store). A built-in negative control plants a
secret in a copy of the image config and expects it to be found.

usage: scripts/check-no-secrets.py PATH/TO/educoin     Needs: nix-instantiate, python3
"""

import json
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "/opt/educoin"
CA_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-bundle.crt"]
PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")


def nix_eval(args):
    out = subprocess.run(["nix-instantiate", "--eval", "--strict", "--json", *args], cwd=REPO,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def secret_names(binary):
    # The settings' declarations (src/config/settings.rs) mark each secret; the generated example
    # file spells that mark as "# NAME (secret): ...".
    text = subprocess.run([str(binary), "env-example", "--production"], check=True,
                          capture_output=True, text=True).stdout
    names = re.findall(r"^# ([A-Z0-9_]+) \(secret\):", text, re.M)
    assert len(names) >= 7, names
    return names


# Secret *File options declared inside an option group rather than at the top of services.educoin.
NESTED_FILE_OPTIONS = {"sentryDsnFile": "observability.sentryDsnFile"}


def module_file_options():
    text = (REPO / "nixos/module.nix").read_text()
    block = re.search(r"secrets = \{(.*?)\};", text, re.S).group(1)
    return dict(re.findall(r"(\w+File) = \"([A-Z0-9_]+)\";", block))


def nix_attrs(d):
    return "{ " + " ".join(f'{k} = {json.dumps(v)};' for k, v in d.items()) + " }"


def scan(label, data: bytes, canaries, names, problems, assignments=True):
    for name, value in canaries.items():
        if value.encode() in data:
            problems.append(f"{label}: contains the value of {name}")
    # The binary spells the names in its messages ("JWT_SECRET={}" of check-config's redacted output);
    # assignments are looked for in configuration, not in code.
    for name in names if assignments else []:
        # NAME=value (an env line) or "NAME": "value" (a JSON map), but not NAME_FILE=...
        if re.search(rb'(?<![A-Z_])' + name.encode() + rb'(=|": ")(?!")', data):
            problems.append(f"{label}: assigns {name} directly")
    if PRIVATE_KEY.search(data):
        problems.append(f"{label}: holds a private key")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = Path(sys.argv[1])
    names = secret_names(binary)
    problems = []

    with tempfile.TemporaryDirectory() as tmp:
        canaries = {n: secrets.token_hex(32) for n in names}
        paths = {}
        for n, v in canaries.items():
            p = Path(tmp, n.lower())
            p.write_text(v + "\n")
            p.chmod(0o400)
            paths[n] = str(p)

        # The image.
        image = nix_eval(["nixos/image.nix", "--argstr", "package", PACKAGE])
        config = image["config"]
        exe = config["Entrypoint"][0]
        ca = next((Path(c) for c in CA_BUNDLES if Path(c).exists()), None)
        if ca is None:
            problems.append("no CA bundle on this machine to stand in for dockerTools.caCertificates")
        files = {exe: binary.read_bytes(), "/etc/ssl/certs/ca-bundle.crt": ca.read_bytes() if ca else b"",
                 "<image config>": json.dumps(config, indent=1).encode()}
        dirs = [image["stateDirectory"], "/tmp"]
        for path, data in files.items():
            scan(f"image {path}", data, canaries, names, problems, assignments=path != exe)
        for path in list(files) + dirs:
            if re.search(r"(^|/)\.env|secret|credential|\.pem$|\.key$", path, re.I):
                problems.append(f"image: {path} looks like a secret or env file")
        env = dict(e.split("=", 1) for e in config.get("Env", []))
        for n in names:
            if n in env:
                problems.append(f"image Env sets {n}")

        # Negative control: the scan finds a planted secret (a blind scan would pass anything).
        planted = []
        scan("control", json.dumps(dict(config, Env=config["Env"] + [f"JWT_SECRET={canaries['JWT_SECRET']}"])).encode(),
             canaries, names, planted)
        if len(planted) != 2:
            problems.append(f"negative control: a planted JWT_SECRET was not found twice ({planted})")

        # The unit, every secret a credential named as the server reads it ($CREDENTIALS_DIRECTORY/x).
        creds = {n.lower(): paths[n] for n in names}
        unit = nix_eval(["nixos/unit.nix", "--argstr", "package", PACKAGE, "--arg", "socketActivation", "true",
                         "--arg", "credentials", nix_attrs(creds)])
        scan("unit", json.dumps(unit).encode(), canaries, names, problems)
        load = unit["serviceConfig"].get("LoadCredential", [])
        for n in names:
            if f"{n.lower()}:{paths[n]}" not in load:
                problems.append(f"unit: no LoadCredential for {n} ({n.lower()})")
        for n in names:
            if n in unit["environment"]:
                problems.append(f"unit Environment sets {n}")

        # The module, every *File option set.
        file_opts = module_file_options()
        missing = sorted(set(names) - set(file_opts.values()))
        if missing:
            problems.append(f"module: no *File option for {missing}")
        definition = {"enable": True, "settings": {"NODE_ENV": "production", "EMAIL_HOST": "smtp.example.org"}}
        for opt, var in file_opts.items():
            if var in paths:
                # Each option where the module declares it: top level, or a group (observability).
                *groups, leaf = NESTED_FILE_OPTIONS.get(opt, opt).split(".")
                target = definition
                for g in groups:
                    target = target.setdefault(g, {})
                target[leaf] = paths[var]
        expr = (f"let e = import ./tests/nix/eval-module.nix {{ educoin = builtins.fromJSON {json.dumps(json.dumps(definition))}; }}; "
                "in { inherit (e) environment credentials environmentFiles; parts = e.parts; "
                "assertions = map (a: a.assertion) e.main.assertions; }")
        module = nix_eval(["-E", expr])
        scan("module", json.dumps(module).encode(), canaries, names, problems)
        if not all(module["assertions"]):
            problems.append(f"module: assertions fail for a proper definition: {module['assertions']}")
        for n in names:
            if n in module["environment"]:
                problems.append(f"module environment sets {n}")
            if f"{n.lower()}:{paths[n]}" not in module["credentials"]:
                problems.append(f"module: {n} is not a systemd credential")

        # The module refuses a secret in settings.
        for n in names:
            bad = dict(definition, settings=dict(definition["settings"], **{n: canaries[n]}))
            expr = (f"let e = import ./tests/nix/eval-module.nix {{ educoin = builtins.fromJSON {json.dumps(json.dumps(bad))}; }}; "
                    "in builtins.all (a: a.assertion) e.main.assertions")
            if nix_eval(["-E", expr]) is not False:
                problems.append(f"module: settings.{n} (a secret, into the Nix store) is accepted")

    if problems:
        print("\n".join(f"FAIL: {p}" for p in problems))
        return 1
    print(f"no secrets: {len(names)} secrets ({', '.join(names)}) as random canaries; image ({len(files)} files: "
          f"{', '.join(files)}; dirs {', '.join(dirs)}), unit and module hold none of them and assign none; "
          f"each arrives as a systemd credential / *_FILE; the module refuses each in settings; "
          f"the planted control was found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
