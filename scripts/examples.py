"""The example configurations the repository's documents show users, read from the documents themselves
(so a check of them cannot drift from what users copy). Used by scripts/check-examples.py and
scripts/container-rehearsal.py.

- NixOS: every ```nix block of README.md and docs/*.md that defines `services.educoin = ...`, plus the
  VM test's nodes, evaluated through nixos/module.nix by tests/nix/examples.nix;
- containers: every `docker run` command in a ```sh block, with the image's own configuration from
  nixos/image.nix.
"""
import json
import re
import secrets
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def fenced_blocks(path, lang):
    """(first line number, text) of each ```lang block of a markdown file."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if current is None and line.strip() == f"```{lang}":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def random_secret():
    """What the documents tell users to run: `openssl rand -hex 32`."""
    return secrets.token_hex(32)


# ------------------------------------------------------------------------------------------------------
# NixOS examples
# ------------------------------------------------------------------------------------------------------
def nixos_examples(workdir):
    """Each NixOS example as {name, environment, credentials: {name: text or None}, environmentFiles}."""
    snippets = []
    for doc in DOCUMENTS:
        for line, text in fenced_blocks(doc, "nix"):
            if not re.search(r"^\s*services\.educoin\s*=", text, re.M):
                continue
            # A fragment ("services.educoin = { ... };") becomes a module; a module stays one.
            code = text
            first = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")).lstrip()
            if not first.startswith("{"):
                code = "{\n" + text + "\n}"
            f = workdir / f"{doc.relative_to(REPO).as_posix().replace('/', '_')}-line{line}.nix"
            f.write_text(code, encoding="utf-8")
            snippets.append(f)
    out = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", str(REPO / "tests/nix/examples.nix"),
         "--arg", "snippets", "[ " + " ".join(str(s) for s in snippets) + " ]"],
        check=True, capture_output=True, text=True,
    ).stdout
    examples = []
    for e in json.loads(out):
        creds = {c.split(":", 1)[0]: e["secretTexts"].get(c.split(":", 1)[0]) for c in e["credentials"]}
        # systemd turns the '%%' that unit.nix writes for a literal '%' back into '%'.
        env = {k: v.replace("%%", "%") for k, v in e["environment"].items()}
        examples.append({"name": e["name"], "environment": env, "credentials": creds,
                         "environmentFiles": e["environmentFiles"]})
    return examples, snippets


# ------------------------------------------------------------------------------------------------------
# containers
# ------------------------------------------------------------------------------------------------------
def image_config(package="/opt/educoin"):
    out = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", str(REPO / "nixos/image.nix"),
         "--argstr", "package", package],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


VALUE_OPTIONS = {"-e", "--env", "-v", "--volume", "-p", "--publish", "--name", "--network", "--tmpfs",
                 "--stop-timeout", "--memory", "--cpus", "--user", "-u", "--restart", "--mount"}
FLAG_OPTIONS = {"-d", "--detach", "--read-only", "--rm", "-it", "-i", "-t", "--init"}


def docker_runs():
    """Each documented `docker run` as {where, env: [(name, value or None)], volumes: [(src, dst, ro)],
    tmpfs, read_only, user, image}."""
    runs = []
    for doc in DOCUMENTS:
        for line, text in fenced_blocks(doc, "sh"):
            joined = re.sub(r"\\\n\s*", " ", text)
            for command in joined.splitlines():
                command = command.split(" #", 1)[0].strip()
                if not command.startswith("docker run "):
                    continue
                words = shlex.split(command)[2:]
                run = {"where": f"{doc.relative_to(REPO)}:{line}", "env": [], "volumes": [], "tmpfs": [],
                       "read_only": False, "user": None, "image": None, "args": []}
                i = 0
                while i < len(words):
                    w = words[i]
                    if run["image"] is not None:
                        run["args"].append(w)
                    elif w in FLAG_OPTIONS:
                        run["read_only"] |= w == "--read-only"
                    elif w in VALUE_OPTIONS:
                        v = words[i + 1]
                        i += 1
                        if w in ("-e", "--env"):
                            name, eq, value = v.partition("=")
                            run["env"].append((name, value if eq else None))
                        elif w in ("-v", "--volume"):
                            parts = v.split(":")
                            run["volumes"].append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
                        elif w == "--tmpfs":
                            run["tmpfs"].append(v)
                        elif w in ("--user", "-u"):
                            run["user"] = v
                    elif w.startswith("-"):
                        raise SystemExit(f"{run['where']}: docker run option {w} is not understood by scripts/examples.py")
                    else:
                        run["image"] = w
                    i += 1
                if run["image"] is None:
                    raise SystemExit(f"{run['where']}: docker run without an image")
                runs.append(run)
    return runs


def secret_file_text(name):
    """Content for a documented secret file: random for keys, a URL for URL secrets."""
    if name == "database_url":
        return "mongodb://mongodb:27017/educoin"
    if name == "redis_url":
        return "redis://redis:6379"
    return random_secret()


def deploy_commands():
    """Each documented `./deploy.sh ...` line (with its VAR=value prefixes) as (where, env, argv)."""
    commands = []
    for doc in DOCUMENTS:
        for line, text in fenced_blocks(doc, "sh"):
            for n, command in enumerate(re.sub(r"\\\n\s*", " ", text).splitlines()):
                if command.lstrip().startswith("#"):
                    continue  # a comment line: prose, which may hold an apostrophe
                words = shlex.split(command.split(" #", 1)[0])
                env = {}
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                    k, _, v = words.pop(0).partition("=")
                    env[k] = v
                if words and words[0] == "./deploy.sh":
                    commands.append((f"{doc.relative_to(REPO)}:{line + n}", env, words[1:]))
    return commands
