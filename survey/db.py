"""The database: SQLAlchemy through Flask-SQLAlchemy, SQLite (WAL) or PostgreSQL (psycopg 3)."""
import os

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from werkzeug.routing import IntegerConverter

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdConverter(IntegerConverter):
    """`<int:…>` in an address: a number an INTEGER column can hold (PostgreSQL's is 32-bit), so
    /remedies/99999999999999999999 is the view's 404 rather than the database's overflow (500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# Objects stay readable after commit: the answering path reads the unit it just stored for.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets residents answer while the office reads; busy_timeout queues writers;
    secure_delete zeroes deleted rows so freed pages keep nothing (docs/anonymity.md)."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def is_sqlite() -> bool:
    """True when the app runs on the embedded SQLite file."""
    return db.engine.dialect.name == "sqlite"


def sqlite_path(uri: str) -> str | None:
    """The file of a sqlite:/// address, or None for an in-memory database."""
    from sqlalchemy.engine import make_url
    path = make_url(uri).database
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def create_private(path: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600). SQLite gives the -wal and
    -shm files it makes beside it the same mode."""
    if path is None or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError:  # a folder that does not exist yet: SQLite's own error is clearer
        return
    os.chmod(path, 0o600)


def init_app(app):
    """Bind the database to the app with engine options that suit each backend."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # a database error's message must not carry answers or token hashes into the logs
    options.setdefault("hide_parameters", True)
    if uri.startswith("sqlite"):
        create_private(sqlite_path(uri))
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
    db.init_app(app)
