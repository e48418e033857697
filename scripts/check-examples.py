#!/usr/bin/env python3
"""Runs `educoin check-config` on every example configuration the repository shows users, in production
mode, as each would start, and on 1,000 freshly generated random secrets. Every one must be accepted.

  - the NixOS examples (the VM test's nodes, the snippets of README.md and docs/), through the module's
    own evaluation (tests/nix/examples.nix): the unit's environment, its credentials in a
    $CREDENTIALS_DIRECTORY (the texts the example writes itself, else `openssl rand -hex 32`-style);
  - every documented `docker run`: the image's Env (nixos/image.nix) plus its -e settings, secret files
    created as the documents say (owned by the image's uid, mode 0400), run as that uid;
  - and, while at it, every documented `./deploy.sh` command parses and prints its plan (--dry-run).

usage: scripts/check-examples.py PATH/TO/educoin [--random N]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import examples  # noqa: E402


def check_config(binary, env, uid=None):
    def demote():
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return subprocess.run([binary, "check-config"], env=env, capture_output=True, text=True,
                          preexec_fn=demote, timeout=30)


def base_env():
    return {"PATH": "/usr/bin:/bin"}


def report(name, result, failures):
    if result.returncode == 0:
        disabled = [l for l in result.stdout.splitlines() if l.startswith("integration ")]
        note = f"; {'; '.join(disabled)}" if disabled else ""
        print(f"PASS: {name}: accepted in production{note}")
    else:
        failures.append(name)
        print(f"FAIL: {name}: check-config exited {result.returncode}")
        for line in (result.stderr or result.stdout).splitlines():
            print(f"      {line}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--random", type=int, default=1000)
    args = ap.parse_args()
    binary = str(Path(args.binary).resolve())
    failures = []

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        work.chmod(0o755)  # the image's uid must reach its secrets directory below
        nixos, snippets = examples.nixos_examples(work)
        if len(snippets) < 2:
            failures.append("snippets")
            print(f"FAIL: expected the NixOS snippets of README.md and docs/deployment.md, found {len(snippets)}")
        for ex in nixos:
            creds = work / "credentials" / ex["name"].replace("/", "_").replace(" ", "_")
            creds.mkdir(parents=True)
            for name, text in ex["credentials"].items():
                (creds / name).write_text(text if text is not None else examples.secret_file_text(name))
            env = base_env() | ex["environment"] | {"CREDENTIALS_DIRECTORY": str(creds)}
            if env.get("NODE_ENV") != "production":
                failures.append(ex["name"])
                print(f"FAIL: {ex['name']}: NODE_ENV is {env.get('NODE_ENV')!r}, not production")
                continue
            report(f"NixOS example {ex['name']} ({len(ex['credentials'])} credentials)",
                   check_config(binary, env), failures)

        image = examples.image_config()
        uid = image["uid"]
        # The image's uid runs a copy in `work`, as the image runs the binary from the world-readable
        # store: the checkout may sit below a directory that uid cannot enter (`mktemp -d` is 0700).
        image_binary = work / "educoin"
        shutil.copy2(binary, image_binary)
        image_binary.chmod(0o755)
        runs = examples.docker_runs()
        if len(runs) < 3:
            failures.append("docker runs")
            print(f"FAIL: expected the docker run commands of README.md and docs/deployment.md, found {len(runs)}")
        for n, run in enumerate(runs):
            env = base_env() | dict(e.split("=", 1) for e in image["config"]["Env"])
            secrets_dir = work / f"run{n}-secrets"
            secrets_dir.mkdir(mode=0o700)
            os.chown(secrets_dir, uid, uid)
            mounts = {dst: src for src, dst, _ in run["volumes"]}
            for name, value in run["env"]:
                if value is None:
                    raise SystemExit(f"{run['where']}: -e {name} passes the caller's environment; give a value")
                if name.endswith("_FILE"):
                    directory, _, file = value.rpartition("/")
                    if directory not in mounts:
                        failures.append(run["where"])
                        print(f"FAIL: {run['where']}: {name}={value} is not in a mounted directory")
                        continue
                    path = secrets_dir / file
                    path.write_text(examples.secret_file_text(file))
                    os.chown(path, uid, uid)
                    path.chmod(0o400)
                    value = str(path)
                env[name] = value
            report(f"docker run at {run['where']} ({len(run['env'])} settings, as uid {uid})",
                   check_config(str(image_binary), env, uid=uid), failures)

    deploys = examples.deploy_commands()
    if len(deploys) < 4:
        failures.append("deploy.sh commands")
        print(f"FAIL: expected the deploy.sh commands of the documents, found {len(deploys)}")
    for where, env, argv in deploys:
        dry = argv if "--dry-run" in argv else ["--dry-run", *argv]
        result = subprocess.run([str(examples.REPO / "deploy.sh"), *dry], env=base_env() | env,
                                capture_output=True, text=True, timeout=30)
        if result.returncode == 0 and result.stdout.startswith("+ "):
            print(f"PASS: ./deploy.sh {' '.join(argv)} ({where}): dry run prints {len(result.stdout.splitlines())} commands")
        else:
            failures.append(where)
            print(f"FAIL: ./deploy.sh {' '.join(argv)} ({where}): exit {result.returncode}: {result.stderr.strip()}")

    rejected = 0
    for _ in range(args.random):
        env = base_env() | {
            "NODE_ENV": "production",
            "JWT_SECRET": examples.random_secret(),
            "JWT_REFRESH_SECRET": examples.random_secret(),
            "PASSCODE_KEY": examples.random_secret(),
            "FRONTEND_URL": "https://app.educoin.example",
        }
        result = check_config(binary, env)
        if result.returncode != 0:
            rejected += 1
            if rejected <= 3:
                print(f"      rejected: {result.stderr.strip()}")
    if rejected:
        failures.append("random secrets")
        print(f"FAIL: {rejected} of {args.random} sets of freshly generated random secrets were refused")
    else:
        print(f"PASS: {args.random} sets of freshly generated secrets (openssl rand -hex 32 style) all accepted")

    print(f"{'all examples accepted' if not failures else 'REFUSED: ' + ', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
