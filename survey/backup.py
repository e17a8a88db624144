"""`survey backup` and `survey restore`: the whole instance in one private file.

A backup is a tar archive holding

- ``manifest.json``: format, toolkit version, time, database kind, schema revisions;
- ``database.sqlite`` (SQLite's online backup API: one consistent copy while residents go on
  answering) or ``database.dump`` (``pg_dump -Fc --no-owner --no-privileges``: one consistent
  snapshot, restorable into a database owned by any role);
- ``secret_key``: the key sessions and "already answered" cookies are signed with;
- ``config.py``: the instance's settings file, when there is one; and ``settings.json``: the
  SURVEY_* settings in effect (the database password left out), for reference.

With a passphrase the archive is encrypted: ``SURVEY-BACKUP-1`` header, a random salt, then a
Fernet token (AES-128-CBC + HMAC-SHA256) under a key derived with scrypt (n=2**15, r=8, p=1).
Every file is written 0600, first under a temporary name, so a half-written backup never
carries the final name.
"""
from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1
MAGIC = b"SURVEY-BACKUP-1\n"
SALT_BYTES = 16


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# --- encryption ---------------------------------------------------------------------------
def _key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    raw = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def encrypt(data: bytes, passphrase: str) -> bytes:
    """The encrypted form of a backup archive."""
    from cryptography.fernet import Fernet
    salt = os.urandom(SALT_BYTES)
    return MAGIC + salt + Fernet(_key(passphrase, salt)).encrypt(data)


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


def decrypt(blob: bytes, passphrase: str) -> bytes:
    """The archive inside an encrypted backup, or BackupError for a wrong passphrase."""
    from cryptography.fernet import Fernet, InvalidToken
    salt = blob[len(MAGIC):len(MAGIC) + SALT_BYTES]
    try:
        return Fernet(_key(passphrase, salt)).decrypt(blob[len(MAGIC) + SALT_BYTES:])
    except InvalidToken:
        raise BackupError("wrong passphrase, or the backup file is damaged") from None


# --- private files ------------------------------------------------------------------------
def write_private(path: str | Path, data: bytes) -> None:
    """Write data to path with mode 0600, atomically (temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


# --- PostgreSQL connection for the client tools -------------------------------------------
def _libpq(url) -> tuple[list[str], dict]:
    """pg_dump/pg_restore arguments and environment for a SQLAlchemy URL: the address (with its
    query options, e.g. sslmode) as a libpq URI, the password in PGPASSWORD, never on the
    command line."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return ["--dbname", uri], env


def _run(cmd: list[str], env: dict, what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


# --- backup -------------------------------------------------------------------------------
@dataclass
class Made:
    path: str
    database: str
    revisions: list
    encrypted: bool
    size: int


def _settings(app) -> dict:
    from .config import DEFAULTS
    shown = {f"SURVEY_{k}": app.config.get(f"SURVEY_{k}") for k in DEFAULTS}
    if shown.get("SURVEY_DATABASE_URL"):
        from sqlalchemy.engine import make_url
        shown["SURVEY_DATABASE_URL"] = make_url(shown["SURVEY_DATABASE_URL"]).render_as_string(hide_password=True)
    storage = str(shown.get("SURVEY_RATELIMIT_STORAGE_URI") or "")
    if "@" in storage:
        from .limits import _safe_uri
        shown["SURVEY_RATELIMIT_STORAGE_URI"] = _safe_uri(storage)
    shown.pop("SURVEY_METRICS_TOKEN", None)
    return shown


def make_backup(app, out: str, passphrase: str | None = None) -> Made:
    """Back up the app's database, secret key and config to out (inside an app context)."""
    from sqlalchemy.engine import make_url

    from . import __version__
    from .db import db, sqlite_path
    from .migrate import schema_state
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _state, revisions = schema_state()
    with tempfile.TemporaryDirectory(prefix="survey-backup-") as tmp:
        if url.get_backend_name() == "sqlite":
            kind, name = "sqlite", "database.sqlite"
            source = sqlite_path(str(url))
            if not source or not os.path.exists(source):
                raise BackupError(f"no SQLite database at {source}")
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
            dst = sqlite3.connect(os.path.join(tmp, name))
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
            finally:
                dst.close()
                src.close()
        elif url.get_backend_name() == "postgresql":
            kind, name = "postgresql", "database.dump"
            args, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  "--file", os.path.join(tmp, name), *args], env, "pg_dump")
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        manifest = {"format": FORMAT, "toolkit": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "database": kind, "revisions": sorted(revisions)}
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            def add(arcname: str, data: bytes) -> None:
                info = tarfile.TarInfo(arcname)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
            add("manifest.json", json.dumps(manifest, indent=2).encode())
            with open(os.path.join(tmp, name), "rb") as f:
                add(name, f.read())
            add("secret_key", str(app.config["SECRET_KEY"]).encode())
            config_py = Path(app.instance_path) / "config.py"
            if config_py.exists():
                add("config.py", config_py.read_bytes())
            add("settings.json", json.dumps(_settings(app), indent=2, ensure_ascii=False, default=str).encode())
        data = buffer.getvalue()
    if passphrase:
        data = encrypt(data, passphrase)
    write_private(out, data)
    db.session.remove()
    return Made(out, kind, sorted(revisions), bool(passphrase), len(data))


# --- restore ------------------------------------------------------------------------------
def read_backup(path: str, passphrase: str | None = None) -> dict[str, bytes]:
    """The files in a backup, decrypting it with passphrase if it is encrypted."""
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if is_encrypted(blob):
        if not passphrase:
            raise BackupError(f"{path} is encrypted: give its passphrase (--passphrase-file, or at the prompt)")
        blob = decrypt(blob, passphrase)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except tarfile.TarError:
        raise BackupError(f"{path} is not a survey backup") from None
    if "manifest.json" not in files:
        raise BackupError(f"{path} is not a survey backup (no manifest.json)")
    return files


def needs_passphrase(path: str) -> bool:
    with open(path, "rb") as f:
        return is_encrypted(f.read(len(MAGIC)))


def _has_tables(engine) -> bool:
    from sqlalchemy import inspect
    return bool(inspect(engine).get_table_names())


def restore_backup(app, path: str, passphrase: str | None = None, force: bool = False) -> dict:
    """Restore a backup into this instance's database (which must be empty unless force),
    and its secret key and config.py into the instance folder (an existing, different
    config.py is kept, the backup's written beside it as config.py.restored, unless force).
    Returns the manifest."""
    from sqlalchemy.engine import make_url

    from .db import db, sqlite_path
    from .migrate import known_revisions
    files = read_backup(path, passphrase)
    manifest = json.loads(files["manifest.json"])
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has backup format {manifest.get('format')}; this toolkit reads format {FORMAT}")
    unknown = set(manifest.get("revisions", [])) - known_revisions()
    if unknown:
        raise BackupError(f"{path} was made by a newer toolkit ({manifest.get('toolkit')}, schema "
                          f"{', '.join(sorted(unknown))}): restore it with that version")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    kind = "sqlite" if url.get_backend_name() == "sqlite" else url.get_backend_name()
    if kind != manifest["database"]:
        raise BackupError(f"{path} holds a {manifest['database']} database; this instance uses {kind}")
    if _has_tables(db.engine) and not force:
        raise BackupError("this instance's database is not empty: restore into a fresh database, "
                          "or give --force to replace everything in it")
    instance = Path(app.instance_path)
    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        target = sqlite_path(str(url))
        tmp = target + ".restoring"
        write_private(tmp, files["database.sqlite"])
        for suffix in ("-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    else:
        args, env = _libpq(url)
        with tempfile.TemporaryDirectory(prefix="survey-restore-") as tmp:
            dump = os.path.join(tmp, "database.dump")
            write_private(dump, files["database.dump"])
            clean = ["--clean", "--if-exists"] if force else []
            # objects are created by the app's own role, so it owns them and can use them
            _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", *clean, *args, dump], env, "pg_restore")
    # the key a fresh instance generated at its first start signs nothing yet: replace it
    write_private(instance / "secret_key", files["secret_key"])
    manifest["config_kept"] = None
    if "config.py" in files:
        config_py = instance / "config.py"
        if config_py.exists() and config_py.read_bytes() != files["config.py"] and not force:
            write_private(instance / "config.py.restored", files["config.py"])
            manifest["config_kept"] = str(instance / "config.py.restored")
        else:
            write_private(config_py, files["config.py"])
    return manifest
