"""Two `survey serve` instances behind nginx, sharing one PostgreSQL and one Redis, on loopback.

Used by tests/test_two_servers.py; the layout and settings are the ones docs/deployment.md
describes (nginx → two app servers → one PostgreSQL, one Redis for rate limits). Everything
lives in one temporary directory; every process runs in its own process group and is stopped
with its group, also when starting fails halfway. Every wait is bounded by time.
"""
from __future__ import annotations

import http.client
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from survey.testing import free_port

# The survey-specific nginx lines, verbatim as docs/deployment.md shows them (a test checks
# that the document still contains each of them, so the tested config is the documented one).
HOUR_MAP = r"""map $time_iso8601 $survey_hour {
    "~^(?<survey_h>\d{4}-\d\d-\d\dT\d\d)"  "${survey_h}:00";
    default                                 "-";
}"""
LOG_FORMAT = """log_format survey '[$survey_hour] "$request_method $upstream_http_x_survey_route" '
                  '$status $body_bytes_sent $request_time $upstream_addr $upstream_status';"""
PROXY_LINES = """proxy_hide_header X-Survey-Route;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;"""
BODY_AND_GZIP = """client_max_body_size 300k;
    gzip on;
    gzip_vary on;
    gzip_types text/css text/csv application/json image/svg+xml;
    gzip_min_length 1024;"""

NGINX_CONF = """{user}worker_processes 1;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {tmp}/nginx-temp/client_body;
    proxy_temp_path {tmp}/nginx-temp/proxy;
    fastcgi_temp_path {tmp}/nginx-temp/fastcgi;
    uwsgi_temp_path {tmp}/nginx-temp/uwsgi;
    scgi_temp_path {tmp}/nginx-temp/scgi;
    default_type application/octet-stream;

    {hour_map}
    {log_format}
    upstream survey_app {{
{servers}
    }}

    server {{
        listen 127.0.0.1:{port} default_server;
        server_name _;
        access_log {tmp}/access.log survey;
        error_log {tmp}/survey-error.log crit;
        {body_and_gzip}

        location / {{
            proxy_pass http://survey_app;
            {proxy_lines}
            # test only: which app server answered (the documented config leaves it out)
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""

# several `survey` commands in one process (each builds its app, as the command would)
RUNNER = """import shlex, sys
from survey.cli import main
for line in sys.argv[1:]:
    try:
        main(shlex.split(line), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
"""


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def upstream(self) -> str | None:
        """The app server (host:port) nginx passed the request to."""
        return self.headers.get("X-Upstream")

    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        for line in self.headers.get_all("Set-Cookie") or []:
            jar.load(line)
        return {name: morsel.value for name, morsel in jar.items()}


def request(port: int, method: str, path: str, data: dict | None = None, headers: dict | None = None,
            source: str = "127.0.0.1", cookies: dict | None = None, timeout: float = 60.0) -> Reply:
    """One HTTP request from a chosen loopback source address (127.x.y.z stands for one
    resident's phone: nginx sees it as $remote_addr). Redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        sent = dict(headers or {})
        body = None
        if data is not None:
            body = urlencode(data).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Reply(response.status, response.headers, text)
    finally:
        conn.close()


def spawn(cmd: list[str], log: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start a server in its own process group, its output appended to log."""
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)


def stop_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM the process's group, SIGKILL it if the leader has not exited within timeout.
    The group is signalled only while its leader is unreaped, so its id cannot be reused."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    """Wait until port accepts connections; fail at once (showing the log) if process died."""
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{_tail(log)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s:\n{_tail(log)}")


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


@dataclass
class Stack:
    """nginx → two `survey serve` → one PostgreSQL database, one Redis. Use as a context manager."""

    root: Path
    postgres: object  # survey.testing.PostgresServer
    answer_limit: str = "20 per minute"
    instances: int = 2
    workers: int = 2
    processes: dict = field(default_factory=dict)
    app_ports: list = field(default_factory=list)
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))

    # --- paths ---------------------------------------------------------------------------
    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    @property
    def access_log(self) -> Path:
        return self.root / "access.log"

    @property
    def upstreams(self) -> set[str]:
        return {f"127.0.0.1:{p}" for p in self.app_ports}

    def app_log(self, index: int) -> str:
        return _tail(self.log(f"app{index}"), 10**9)

    # --- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.database = "two_" + uuid.uuid4().hex[:10]
        self.postgres.execute(f"CREATE DATABASE {self.database}")
        self.database_url = self.postgres.url(self.database)
        self._start_redis()
        self.port = free_port()
        self.app_ports = [free_port() for _ in range(self.instances)]
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        self.base_env.update({
            "SURVEY_DATABASE_URL": self.database_url,
            "SURVEY_SECRET_KEY": self.secret_key,
            "SURVEY_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{self.redis_port}/0",
            "SURVEY_RATELIMIT_ANSWER": self.answer_limit,
            "SURVEY_PROXY_COUNT": "1",
            "SURVEY_BASE_URL": f"http://127.0.0.1:{self.port}",
        })
        upgrade = subprocess.run([sys.executable, "-m", "survey.cli", "db", "upgrade"],
                                 env={**self.base_env, "SURVEY_INSTANCE": str(self.root / "instance-upgrade")},
                                 capture_output=True, text=True, timeout=120, cwd=self.root)
        assert upgrade.returncode == 0, upgrade.stderr + upgrade.stdout
        for index, port in enumerate(self.app_ports, start=1):
            self._start_app(index, port)
        self._start_nginx()
        for index, port in enumerate(self.app_ports, start=1):
            wait_listening(port, self.processes[f"app{index}"], self.log(f"app{index}"), timeout=60)
        wait_listening(self.port, self.processes["nginx"], self.root / "error.log")
        self._wait_until_both_answer()

    def _start_redis(self) -> None:
        self.redis_port = free_port()
        self.processes["redis"] = spawn(
            ["redis-server", "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
             "--bind", "127.0.0.1", "--dir", str(self.root)], self.log("redis"))
        wait_listening(self.redis_port, self.processes["redis"], self.log("redis"))
        self.redis().ping()

    def redis(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=10)

    def _start_app(self, index: int, port: int) -> None:
        env = {**self.base_env, "SURVEY_INSTANCE": str(self.root / f"instance-{index}")}
        self.processes[f"app{index}"] = spawn(
            [sys.executable, "-m", "survey.cli", "serve", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.workers), "--access-log", "--allow-local-base-url"], self.log(f"app{index}"), env=env, cwd=self.root)

    def stop_app(self, index: int) -> None:
        """Stop one app server (as a crash or a restart for an upgrade would)."""
        stop_group(self.processes.pop(f"app{index}"))

    def restart_app(self, index: int) -> None:
        self._start_app(index, self.app_ports[index - 1])
        wait_listening(self.app_ports[index - 1], self.processes[f"app{index}"], self.log(f"app{index}"), 60)
        self._wait_until_both_answer()

    def _start_nginx(self) -> None:
        (self.root / "nginx-temp").mkdir(exist_ok=True)
        user = ""
        if os.geteuid() == 0:  # workers would otherwise run as nobody, shut out of the temp dir
            user = f"user {pwd.getpwuid(0).pw_name};\n"
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in self.app_ports)
        conf = NGINX_CONF.format(user=user, tmp=self.root, port=self.port, servers=servers,
                                 hour_map=HOUR_MAP, log_format=LOG_FORMAT, proxy_lines=PROXY_LINES,
                                 body_and_gzip=BODY_AND_GZIP)
        (self.root / "nginx.conf").write_text(conf)
        error_log = self.root / "error.log"
        self.processes["nginx"] = spawn(
            ["nginx", "-p", str(self.root), "-c", str(self.root / "nginx.conf"), "-e", str(error_log),
             "-g", f"daemon off; pid {self.root}/nginx.pid; error_log {error_log};"],
            self.log("nginx"))

    def _wait_until_both_answer(self, timeout: float = 60.0) -> None:
        """Both app servers have a worker answering through nginx (GETs are not rate limited)."""
        seen: set = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = request(self.port, "GET", "/", timeout=10)
            if reply.status == 200:
                seen.add(reply.upstream)
                if seen >= self.upstreams:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"only {seen} answered through nginx within {timeout}s")

    def stop(self) -> None:
        for name in ["nginx"] + [f"app{i}" for i in range(self.instances, 0, -1)] + ["redis"]:
            process = self.processes.pop(name, None)
            if process is not None:
                stop_group(process)
        app = getattr(self, "app", None)
        if app is not None:
            with app.app_context():
                from survey.db import db
                db.session.remove()
                db.engine.dispose()
            self.app = None
        if getattr(self, "database", None):
            try:
                self.postgres.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            except Exception:  # the server may be going away with the session
                pass
            self.database = None

    # --- the app's own code, in this process, on the shared database ----------------------
    def setup_app(self):
        """A Flask app on the shared database for setting up campaigns and counting."""
        from survey import create_app
        self.app = create_app({"INSTANCE_PATH": str(self.root / "instance-setup"),
                               "SECRET_KEY": self.secret_key, "SURVEY_DATABASE_URL": self.database_url,
                               "SURVEY_RATELIMIT_ENABLED": False})
        return self.app

    def make_campaign(self, slug: str, units: list[tuple[str, str, str]], **settings) -> tuple[int, list[int]]:
        """An open campaign with units (code, name, sector); returns its id and unit ids."""
        from survey.campaigns import transition
        from survey.db import db
        from survey.models import Campaign, Unit
        from survey.registry import current_registry
        with self.app.app_context():
            campaign = Campaign(slug=slug, name=f"测评 {slug}", **settings)
            db.session.add(campaign)
            made = [Unit(campaign=campaign, code=code, name=name, sector=sector) for code, name, sector in units]
            db.session.add_all(made)
            db.session.flush()
            transition(campaign, "open", current_registry(), "two-servers-test")
            db.session.commit()
            return campaign.id, [u.id for u in made]

    def make_tokens(self, campaign_id: int, n: int, category: str | None = None) -> list[str]:
        """Issue n one-time ballot tokens (stored hashed, as printing does); returns them plain."""
        from sqlalchemy import func, select

        from survey.db import db
        from survey.models import BallotBatch, BallotToken
        from survey.tokens import new_token, token_hash
        with self.app.app_context():
            start = (db.session.scalar(select(func.max(BallotToken.serial))
                                       .filter_by(campaign_id=campaign_id)) or 0) + 1
            batch = BallotBatch(campaign_id=campaign_id, category=category, count=n,
                                serial_from=start, serial_to=start + n - 1)
            db.session.add(batch)
            db.session.flush()
            plain = [new_token() for _ in range(n)]
            db.session.add_all([BallotToken(token_hash=token_hash(t), campaign_id=campaign_id,
                                            batch_id=batch.id, serial=start + i) for i, t in enumerate(plain)])
            db.session.commit()
        return plain

    def create_admin(self, username: str, password: str) -> None:
        from survey.auth import create_user
        with self.app.app_context():
            create_user(username, password)
