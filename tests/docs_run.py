"""Run the command blocks of an operator's document on loopback, as a new operator would.

Used by tests/test_deployment_docs.py. A document's fenced blocks are read in order:

- a block whose first line is ``# file: PATH`` is a file to write (its other lines verbatim);
- any other ``sh`` block is run by bash, as root, stopping at the first failing command;
- ``text`` blocks (diagrams) are not commands.

Any other kind of block fails the run, so a new block cannot be left untested.

Before a block runs, its text gets the substitutions that put a machine's layout on loopback
in one temporary folder (``Machine.substitute``): absolute paths under /etc, /opt, /var and
/usr/local get the folder as prefix, the documented ports (8001, 8002, 6379, 5432, 80, 443)
become free ports, and the placeholders get values. Everything else is the document's text.

The machine's own services are stand-ins for Debian's, each with its own configuration and pid
file in the folder: a PostgreSQL cluster (superuser ``postgres`` on a Unix socket, passwords over
TCP), Redis started from ``etc/redis/redis.conf``, nginx from ``etc/nginx/nginx.conf`` (which
includes ``conf.d/*.conf`` and ``sites-enabled/*`` as Debian's does). On PATH, small
stand-ins for ``sudo`` (``-u USER`` runs as that user with a clean environment, as sudo's
env_reset does), ``systemctl`` (starts a unit's ExecStart as its User with its
EnvironmentFile, Environment, UMask and StateDirectory; stops it with SIGTERM to the main
process, then SIGKILL after TimeoutStopSec, as KillMode=mixed does), ``nginx``, ``curl`` (trusts
the test certificate and resolves survey.example.org to 127.0.0.1) and ``redis-cli`` (the test
port). The service user is a real system user, ``survey``.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from survey.testing import _pg_bin, free_port

REPO = Path(__file__).resolve().parents[1]
HOST = "survey.example.org"


@dataclass
class Block:
    lang: str
    text: str
    line: int  # where the block starts in the document

    @property
    def file(self) -> str | None:
        first = self.text.split("\n", 1)[0]
        return first[len("# file: "):].strip() if first.startswith("# file: ") else None

    @property
    def kind(self) -> str:
        if self.file:
            return "file"
        if self.lang == "sh":
            return "sh"
        if self.lang == "text":
            return "text"
        return "unknown"


FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    text = path.read_text()
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


SUDO = r'''#!{python}
"""sudo for the test machine: as root already; -u USER runs as USER with a clean environment."""
import os, pwd, sys
args = sys.argv[1:]
user = "root"
while args and args[0].startswith("-"):
    opt = args.pop(0)
    if opt == "-u":
        user = args.pop(0)
    elif opt in ("-E", "-H", "-n"):
        pass
    else:
        sys.exit(f"sudo stand-in: option {{opt}} not supported")
keep = {{k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("LANG", "TERM")}}
entry = pwd.getpwnam(user)
env = {{**keep, "PATH": os.environ["PATH"], "HOME": entry.pw_dir, "USER": user, "LOGNAME": user,
       "SHELL": "/bin/sh"}}
if user == "root":
    env["HOME"] = "/root"
if user == "postgres":  # Debian's default: the cluster's Unix socket
    env.update(PGHOST="{pg_socket}", PGPORT="{pg_port}")
if user != "root":
    os.chdir("/")
    os.execvpe("runuser", ["runuser", "-u", user, "--", *args], env)
os.execvpe(args[0], args, env)
'''

WRAP = """#!/bin/sh
exec {real} {args} "$@"
"""

USERADD = """#!/bin/sh
# useradd for the test machine: a user left by an earlier run is reused
for last; do :; done
id -u "$last" >/dev/null 2>&1 && exit 0
exec /usr/sbin/useradd "$@"
"""

SYSTEMCTL = r'''#!{python}
"""systemctl for the test machine: the units this deployment uses, from their unit files."""
import os, pwd, grp, shlex, signal, subprocess, sys, time
ROOT = "{root}"
RUN = ROOT + "/run"


def alive(pid):
    try:
        with open(f"/proc/{{pid}}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pid_of(name):
    try:
        pid = int(open(f"{{RUN}}/{{name}}.pid").read().split()[0])
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def unit(name):
    base, _, inst = name.partition("@")
    path = f"{{ROOT}}/etc/systemd/system/{{base}}@.service" if inst else f"{{ROOT}}/etc/systemd/system/{{name}}.service"
    settings = {{}}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip().replace("%i", inst))
    return settings


def env_file(path):
    env = {{}}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def start_unit(name):
    if pid_of(name):
        return
    u = unit(name)
    env = {{"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}}
    for path in u.get("EnvironmentFile", []):
        env.update(env_file(path))
    for assignment in u.get("Environment", []):
        for word in shlex.split(assignment):
            key, _, value = word.partition("=")
            env[key] = value
    user = u.get("User", ["root"])[0]
    entry = pwd.getpwnam(user)
    group = u.get("Group", [grp.getgrgid(entry.pw_gid).gr_name])[0]
    for state in u.get("StateDirectory", []):
        path = f"{{ROOT}}/var/lib/{{state}}"
        os.makedirs(path, exist_ok=True)
        os.chown(path, entry.pw_uid, grp.getgrnam(group).gr_gid)
    env.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
    umask = int(u.get("UMask", ["0022"])[0], 8)
    log = open(f"{{RUN}}/{{name}}.log", "ab")
    process = subprocess.Popen(shlex.split(u["ExecStart"][0]), env=env, cwd="/", user=user, group=group,
                               extra_groups=[], umask=umask, start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    with open(f"{{RUN}}/{{name}}.pid", "w") as f:
        f.write(f"{{process.pid}}\n")
    with open(f"{{RUN}}/{{name}}.stop", "w") as f:
        f.write(u.get("TimeoutStopSec", ["90"])[0])


def stop_unit(name):
    pid = pid_of(name)
    if not pid:
        return
    timeout = float(open(f"{{RUN}}/{{name}}.stop").read() or 90)
    os.kill(pid, signal.SIGTERM)  # KillMode=mixed: SIGTERM to the main process only
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)  # then whatever is left of the unit
    except ProcessLookupError:
        pass
    os.unlink(f"{{RUN}}/{{name}}.pid")


def redis(action):
    pid = pid_of("redis-server")
    if action in ("stop", "restart") and pid:
        os.kill(pid, signal.SIGTERM)
        while alive(pid):
            time.sleep(0.05)
        os.unlink(f"{{RUN}}/redis-server.pid")
    if action in ("start", "restart"):
        log = open(f"{{RUN}}/redis-server.log", "ab")
        process = subprocess.Popen(["redis-server", f"{{ROOT}}/etc/redis/redis.conf"], start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        with open(f"{{RUN}}/redis-server.pid", "w") as f:
            f.write(f"{{process.pid}}\n")


def nginx(action):
    conf = ["nginx", "-c", f"{{ROOT}}/etc/nginx/nginx.conf", "-e", f"{{ROOT}}/var/log/nginx/error.log"]
    running = pid_of("nginx")
    if action == "reload" and running:
        subprocess.run(conf + ["-s", "reload"], check=True)
    elif action in ("start", "reload", "restart"):
        if running:
            subprocess.run(conf + ["-s", "stop"], check=True)
        subprocess.run(conf, check=True)
    elif action == "stop" and running:
        subprocess.run(conf + ["-s", "stop"], check=True)


args = [a for a in sys.argv[1:] if not a.startswith("-")]
now = "--now" in sys.argv
action, names = args[0], args[1:]
if action == "daemon-reload":
    sys.exit(0)
for name in names:
    name = name.removesuffix(".service")
    if name == "nginx":
        nginx(action)
    elif name == "redis-server":
        redis(action)
    elif action in ("start", "restart", "stop", "enable", "is-active"):
        if action == "is-active":
            sys.exit(0 if pid_of(name) else 3)
        if action in ("stop", "restart"):
            stop_unit(name)
        if action in ("start", "restart") or (action == "enable" and now):
            start_unit(name)
    else:
        sys.exit(f"systemctl stand-in: {{action}} {{name}} not supported")
'''

NGINX_MAIN = """# the test machine's stand-in for Debian's /etc/nginx/nginx.conf
user www-data;
worker_processes 1;
pid {root}/run/nginx.pid;
error_log {root}/var/log/nginx/error.log;
events {{ worker_connections 768; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {root}/var/lib/nginx/body;
    proxy_temp_path {root}/var/lib/nginx/proxy;
    fastcgi_temp_path {root}/var/lib/nginx/fastcgi;
    uwsgi_temp_path {root}/var/lib/nginx/uwsgi;
    scgi_temp_path {root}/var/lib/nginx/scgi;
    access_log {root}/var/log/nginx/access.log;
    include {root}/etc/nginx/conf.d/*.conf;
    include {root}/etc/nginx/sites-enabled/*;
}}
"""

NGINX_DEFAULT_SITE = """# Debian's default site (the deployment removes it)
server {{
    listen 127.0.0.1:{http} default_server;
    root /var/www/html;
    location / {{ return 200 "Welcome to nginx!"; }}
}}
"""


class Machine:
    """The loopback machine a document's commands run on. Use as a context manager."""

    def __init__(self, workers: int = 2):
        self.root = Path(tempfile.mkdtemp(prefix="survey-docs-", dir="/tmp"))
        os.chmod(self.root, 0o755)  # the service user must reach the venv and its files
        self.ports = {name: free_port() for name in ("app1", "app2", "redis", "pg", "http", "https")}
        self.db_password = secrets.token_urlsafe(12)
        self.redis_password = secrets.token_urlsafe(12)
        self.secret_key = secrets.token_hex(32)
        self.workers = workers
        self.values: dict[str, str] = {}
        self.ran: list[Block] = []
        self.extra_env: dict[str, str] = {}  # e.g. settings a page says it assumes

    # --- substitutions ---------------------------------------------------------------------
    def substitute(self, text: str) -> str:
        r, p = str(self.root), self.ports
        text = re.sub(r"(?<![\w.~-])/(etc|opt|var|usr/local)/", lambda m: f"{r}/{m.group(1)}/", text)
        text = re.sub(r"\blisten \[::\]:\d+[^;]*;\n\s*", "", text)
        text = re.sub(r"\blisten 80\b", f"listen 127.0.0.1:{p['http']}", text)
        text = re.sub(r"\blisten 443\b", f"listen 127.0.0.1:{p['https']}", text)
        text = text.replace(f"https://{HOST}", f"https://{HOST}:{p['https']}")
        text = re.sub(r"\b8001\b", str(p["app1"]), text)
        text = re.sub(r"\b8002\b", str(p["app2"]), text)
        if "serve" in p:  # the single server of docs/operators.md
            text = re.sub(r"\b8000\b", str(p["serve"]), text)
        text = text.replace(":6379", f":{p['redis']}")
        text = text.replace("@127.0.0.1/", f"@127.0.0.1:{p['pg']}/")
        text = text.replace("--workers 4", f"--workers {self.workers}")
        text = (text.replace("DB-PASSWORD", self.db_password).replace("REDIS-PASSWORD", self.redis_password)
                .replace("64-HEX-DIGITS", self.secret_key))
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        return text

    def path(self, documented: str) -> Path:
        """Where a documented absolute path lives on this machine."""
        return Path(self.substitute(documented))

    # --- life cycle ------------------------------------------------------------------------
    def __enter__(self) -> "Machine":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for sub in ("bin", "run", "etc/nginx/conf.d", "etc/nginx/sites-enabled", "etc/redis", "var/log/nginx",
                    "var/lib/nginx", "var/lib/redis", "etc/systemd/system", "etc/cron.d", "usr/local/bin",
                    f"etc/letsencrypt/live/{HOST}", "opt/survey"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._copy_source()
        self._build_release()
        self._write_shims()
        self._certificate()
        self._start_postgres()
        (self.root / "etc/redis/redis.conf").write_text(
            f"# the test machine's stand-in for Debian's redis.conf\nport {self.ports['redis']}\n"
            f"dir {self.root}/var/lib/redis\ndaemonize no\n")
        self.systemctl("start", "redis-server")
        (self.root / "etc/nginx/nginx.conf").write_text(NGINX_MAIN.format(root=self.root))
        (self.root / "etc/nginx/sites-enabled/default").write_text(NGINX_DEFAULT_SITE.format(http=self.ports["http"]))
        self.systemctl("start", "nginx")

    def _build_release(self) -> None:
        """The release bundle in /opt/survey/release-VERSION, made by scripts/release.sh from
        the source; the "new release" of the upgrade section is the same bundle."""
        import tomllib
        version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
        bundle = self.root / f"opt/survey/release-{version}"
        # with the machine's python3, the one the documented venvs use
        done = subprocess.run(["bash", str(self.root / "src/scripts/release.sh"), str(bundle)], capture_output=True,
                              text=True, env=self.env, cwd=self.root / "src", timeout=900)
        assert done.returncode == 0, done.stderr
        (self.root / f"opt/survey/release-{version}-next").symlink_to(bundle)
        self.values.update({"NEW-VERSION": f"{version}-next", "PREVIOUS-VERSION": version, "VERSION": version})

    def _copy_source(self) -> None:
        """The source the release is built from: the repository's files (committed or not)."""
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
        target = self.root / "src"
        for name in filter(None, listed):
            source = REPO / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)

    def _write_shims(self) -> None:
        bin_ = self.root / "bin"
        pg_socket = self.root / "pg"
        shims = {
            "sudo": SUDO.format(python=sys.executable, pg_socket=pg_socket, pg_port=self.ports["pg"]),
            "systemctl": SYSTEMCTL.format(python=sys.executable, root=self.root),
            "useradd": USERADD,
            "nginx": WRAP.format(real="/usr/sbin/nginx", args=f"-c {self.root}/etc/nginx/nginx.conf "
                                                            f"-e {self.root}/var/log/nginx/error.log"),
            "curl": WRAP.format(real="/usr/bin/curl", args=f"--cacert {self.cert} --resolve "
                                                        f"{HOST}:{self.ports['https']}:127.0.0.1"),
            "redis-cli": WRAP.format(real="/usr/bin/redis-cli", args=f"-p {self.ports['redis']}"),
        }
        for name, text in shims.items():
            (bin_ / name).write_text(text)
            (bin_ / name).chmod(0o755)

    @property
    def cert(self) -> Path:
        return self.root / f"etc/letsencrypt/live/{HOST}/fullchain.pem"

    def _certificate(self) -> None:
        live = self.root / f"etc/letsencrypt/live/{HOST}"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
                        "-keyout", str(live / "privkey.pem"), "-out", str(live / "fullchain.pem")],
                       check=True, capture_output=True)

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              check=check, cwd="/")

    def _start_postgres(self) -> None:
        """A cluster as Debian makes one: superuser postgres over the socket, passwords over TCP."""
        pg = self.root / "pg"
        pg.mkdir()
        shutil.chown(pg, "postgres", "postgres")
        self._pg(_pg_bin("initdb"), "-D", str(pg / "data"), "-U", "postgres", "--auth-local=peer",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.ports['pg']} -k {pg} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off")
        self._pg(_pg_bin("pg_ctl"), "-D", str(pg / "data"), "-o", opts, "-l", str(pg / "log"), "-w", "start")
        self.pg_started = True

    def stop_postgres(self) -> None:
        if getattr(self, "pg_started", False):
            self._pg(_pg_bin("pg_ctl"), "-D", str(self.root / "pg/data"), "-m", "immediate", "stop", check=False)
            self.pg_started = False

    def stop(self) -> None:
        for pidfile in sorted((self.root / "run").glob("*.pid")):
            if pidfile.stem == "nginx":
                subprocess.run(["/usr/sbin/nginx", "-c", str(self.root / "etc/nginx/nginx.conf"), "-s", "stop"],
                               capture_output=True)
                continue
            try:
                pid = int(pidfile.read_text().split()[0])
                os.killpg(pid, signal.SIGTERM)
                time.sleep(0.5)
                os.killpg(pid, signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        self.stop_postgres()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- running the document -------------------------------------------------------------------
    @property
    def env(self) -> dict:
        keep = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("LANG", "HOME", "TERM")}
        path = f"{self.root}/bin:{self.root}/usr/local/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        extra = dict(self.extra_env)
        if "PATH_PREFIX" in extra:
            path = extra.pop("PATH_PREFIX") + ":" + path
        return {**keep, **extra, "PATH": path}

    def systemctl(self, *args: str) -> None:
        subprocess.run([str(self.root / "bin/systemctl"), *args], check=True, env=self.env, timeout=120)

    def sh(self, script: str, timeout: float = 300, stdin: str = "") -> subprocess.CompletedProcess:
        """Run shell text (already substituted) as root, in a session of its own (no terminal:
        a password prompt reads standard input)."""
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], input=stdin, text=True,
                              capture_output=True, env=self.env, cwd=self.root, timeout=timeout,
                              start_new_session=True)

    def run(self, block: Block, timeout: float = 300) -> subprocess.CompletedProcess | None:
        """Write or run one block of the document."""
        if block.kind == "text":
            return None
        if block.kind == "file":
            target = self.path(block.file)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.substitute(block.text))
            self.ran.append(block)
            return None
        if block.kind != "sh":
            raise AssertionError(f"line {block.line}: a ```{block.lang} block that is neither a command block "
                                 "nor a '# file: PATH' block: the test cannot run it")
        script = self.substitute(block.text)
        done = self.sh(script, timeout=timeout, stdin=f"{self.db_password}\n{self.db_password}\n")
        if done.returncode != 0:
            raise AssertionError(f"the block at line {block.line} failed with {done.returncode}:\n{script}\n"
                                 f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
        self.ran.append(block)
        return done

    def unit_log(self, name: str) -> str:
        path = self.root / "run" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
