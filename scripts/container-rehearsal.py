#!/usr/bin/env python3
"""Rehearses the container's start on a machine without Docker: for every documented `docker run`, runs
the release binary exactly as the image's configuration (nixos/image.nix, the file the flake builds the
image from) says, with that command's options, and requires it to become healthy and to stop cleanly.

What is the same as under Docker: the entrypoint and command, the image's Env plus the command's -e
settings, the user (uid:gid from the image, no supplementary groups), the working directory, a new PID
namespace in which the server is PID 1, a read-only root (--read-only) with a tmpfs on /tmp (--tmpfs)
and the volumes mounted where the command mounts them (a named volume starts with the image directory's
owner and mode, as Docker initialises it), secret files owned by the image's uid with mode 0400 as the
documents tell users to make them, health as the image's HEALTHCHECK decides it (`educoin healthcheck`
run inside the container until it exits 0), and the StopSignal ending it.
What differs, because no image can be built here: the root holds the release binary at the package path
and this machine's shared libraries (the image holds the Nix closure), and the network is the host's:
the names the command reaches (redis, mongodb) resolve to 127.0.0.1 through the container's /etc/hosts,
where this script provides Redis and a MongoDB wire-protocol server (jongodb, tests/services).

usage (as root): scripts/container-rehearsal.py PATH/TO/educoin
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import examples  # noqa: E402

PACKAGE = "/opt/educoin"
JONGODB = examples.REPO / "tests/services/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb"


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def child_of(pid):
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                return int(p.name)
    return None


class Services:
    """Redis on 6379 and jongodb, for the command that uses them; stopped at the end."""

    def __init__(self, work):
        self.work, self.procs, self.mongo_port = work, [], None

    def redis(self):
        if port_open(6379):
            return "the Redis already on 127.0.0.1:6379"
        self.procs.append(subprocess.Popen(["redis-server", "--port", "6379", "--bind", "127.0.0.1", "--save", "",
                                            "--appendonly", "no"], stdout=subprocess.DEVNULL))
        for _ in range(50):
            if port_open(6379):
                return "redis-server started on 127.0.0.1:6379"
            time.sleep(0.1)
        raise SystemExit("redis-server did not start on 6379")

    def mongodb(self):
        if self.mongo_port:
            return self.mongo_port
        if not JONGODB.exists():
            raise SystemExit(f"{JONGODB} is missing: run `npm ci --prefix tests/services` first")
        log = self.work / "jongodb.log"
        self.procs.append(subprocess.Popen([str(JONGODB), "--host=127.0.0.1", "--port=0"], stdout=log.open("w"),
                                           stderr=subprocess.STDOUT))
        for _ in range(100):
            for line in log.read_text().splitlines():
                if line.startswith("JONGODB_URI="):
                    self.mongo_port = int(line.split(":")[2].split("/")[0])
                    return self.mongo_port
            time.sleep(0.1)
        raise SystemExit(f"jongodb did not start:\n{log.read_text()}")

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait(timeout=10)


def rehearse(binary, image, run, n, work, services):
    cfg = image["config"]
    uid = image["uid"]
    user = cfg["User"]
    where = run["where"]
    root = work / f"root{n}"
    problems, facts = [], []

    # The image's file system.
    for d in ("etc/ssl/certs", "tmp", "run/secrets", "proc", "dev", "usr/lib", "usr/lib64", PACKAGE.strip("/") + "/bin",
              image["stateDirectory"].strip("/")):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "lib").symlink_to("usr/lib")
    (root / "lib64").symlink_to("usr/lib64")
    shutil.copy2(binary, root / PACKAGE.strip("/") / "bin/educoin")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/ca-bundle.crt")
    (root / "etc/hosts").write_text("127.0.0.1 localhost redis mongodb\n")
    state = root / image["stateDirectory"].strip("/")
    os.chown(state, uid, uid)
    state.chmod(int(image["stateDirectoryMode"], 8))
    for dev in ("null", "zero", "urandom", "random"):
        (root / "dev" / dev).touch()

    env = dict(e.split("=", 1) for e in cfg["Env"])
    secrets_dir = work / f"secrets{n}"
    secrets_dir.mkdir(mode=0o700)
    os.chown(secrets_dir, uid, uid)
    mounts = []  # (host path, container path, read-only)
    for src, dst, ro in run["volumes"]:
        if src.startswith("/"):  # a bind mount: the documented secrets directory
            host = secrets_dir
        else:  # a named volume: Docker copies the image directory's owner and mode into a new one
            host = work / f"volume{n}-{src}"
            host.mkdir()
            st = (root / dst.strip("/")).stat()
            os.chown(host, st.st_uid, st.st_gid)
            host.chmod(st.st_mode & 0o7777)
        mounts.append((host, dst, ro))
    for name, value in run["env"]:
        if name.endswith("_FILE"):
            file = value.rpartition("/")[2]
            text = examples.secret_file_text(file)
            if file == "database_url":
                text = f"mongodb://mongodb:{services.mongodb()}/educoin"
                facts.append(f"DATABASE_URL -> jongodb as 'mongodb' on port {services.mongo_port}")
            path = secrets_dir / file
            path.write_text(text)
            os.chown(path, uid, uid)
            path.chmod(0o400)
        elif name == "REDIS_URL":
            facts.append(f"REDIS_URL={value} -> {services.redis()}")
        env[name] = value

    # Mounts inside a new mount and PID namespace; the server is PID 1 there, as under Docker.
    script = [
        "set -e",
        f'R="{root}"',
        'mount --bind "$R" "$R"',
        'mount -o remount,bind,ro "$R"' if run["read_only"] else ":",
        'mount --bind -o ro /usr/lib "$R/usr/lib"',
        'mount --bind -o ro /usr/lib64 "$R/usr/lib64"',
        'mount -t proc proc "$R/proc"',
    ]
    for dev in ("null", "zero", "urandom", "random"):
        script.append(f'mount --bind /dev/{dev} "$R/dev/{dev}"')
    for t in run["tmpfs"]:
        script.append(f'mount -t tmpfs -o mode=1777 tmpfs "$R{t}"')
    for host, dst, ro in mounts:
        script.append(f'mount --bind "{host}" "$R{dst}"')
        if ro:
            script.append(f'mount -o remount,bind,ro "$R{dst}"')
    command = cfg["Entrypoint"] + cfg["Cmd"]
    script.append("cd /")
    script.append(shlex.join(["exec", "chroot", f"--userspec={user}", "--groups=", str(root), *command]))
    env_here = env | {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    log = (work / f"server{n}.log").open("w")
    proc = subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c",
                             "\n".join(script)], env=env_here,
                            stdout=log, stderr=subprocess.STDOUT, cwd="/")
    server = None
    try:
        for _ in range(100):
            server = child_of(proc.pid)
            if server:
                break
            time.sleep(0.05)
        # HEALTHCHECK: the image's Test command inside the same namespaces, every StartInterval, within
        # StartPeriod, as the same user.
        hc = cfg["Healthcheck"]
        test = hc["Test"][1:]
        healthy = None
        started = time.monotonic()
        while time.monotonic() - started < hc["StartPeriod"] / 1e9:
            if proc.poll() is not None:
                break
            r = subprocess.run(["nsenter", "-t", str(server), "-m", "-p", "chroot", f"--userspec={user}", "--groups=",
                                str(root), *test], env=env_here, capture_output=True, text=True,
                               timeout=hc["Timeout"] / 1e9 + 5)
            if r.returncode == 0:
                healthy = time.monotonic() - started
                break
            time.sleep(hc["StartInterval"] / 1e9)
        if healthy is None:
            problems.append(f"never healthy within {hc['StartPeriod'] / 1e9:.0f}s (exit {proc.poll()})")
        else:
            facts.append(f"healthy after {healthy:.1f}s (HEALTHCHECK `{' '.join(hc['Test'][1:])}` exit 0)")
            try:
                code = urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/api/v1/health/ready", timeout=5).status
            except Exception as e:  # noqa: BLE001
                code = e
            if code != 200:
                problems.append(f"GET /api/v1/health/ready -> {code}")
            status = Path(f"/proc/{server}/status").read_text()
            uids = next(l.split()[1:] for l in status.splitlines() if l.startswith("Uid:"))
            ns_pid = next(l.split()[-1] for l in status.splitlines() if l.startswith("NSpid:"))
            if set(uids) != {str(uid)}:
                problems.append(f"runs as uid {uids}, not {uid}")
            facts.append(f"PID {ns_pid} in its namespace, uid {uids[0]}, ready 200")
            if not run["read_only"]:
                problems.append("the documented command lacks --read-only")
            if any(dst == image["stateDirectory"] for _, dst, _ in mounts) and "DATABASE_URL_FILE" not in env:
                if not (mounts[0][0] / "educoin.db").exists():
                    problems.append("no educoin.db in the volume")
                else:
                    facts.append("SQLite file written to the volume")
        os.kill(server, getattr(signal, cfg["StopSignal"]))
        try:
            code = proc.wait(timeout=30)
            (facts if code == 0 else problems).append(f"{cfg['StopSignal']} -> exit {code}")
        except subprocess.TimeoutExpired:
            problems.append(f"did not stop within 30 s of {cfg['StopSignal']}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    if problems:
        print(f"FAIL: docker run at {where}: {'; '.join(problems)}")
        for line in (work / f"server{n}.log").read_text().splitlines()[-15:]:
            print(f"      | {line}")
        return False
    print(f"PASS: docker run at {where} rehearsed as image {run['image']} would run it: {'; '.join(facts)}")
    return True


def main():
    if os.geteuid() != 0:
        raise SystemExit("container-rehearsal.py: must run as root (mount namespaces, chroot)")
    binary = str(Path(sys.argv[1]).resolve())
    image = examples.image_config(PACKAGE)
    runs = examples.docker_runs()
    port = int(dict(e.split("=", 1) for e in image["config"]["Env"])["PORT"])
    if port_open(port):
        raise SystemExit(f"container-rehearsal.py: something already listens on 127.0.0.1:{port}")
    ok = True
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        work.chmod(0o755)
        services = Services(work)
        try:
            for n, run in enumerate(runs):
                ok &= rehearse(binary, image, run, n, work, services)
        finally:
            services.stop()
    print(f"{len(runs)} documented docker run commands rehearsed: {'all healthy and stopped cleanly' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
