"""Schema migrations with Alembic: `survey db upgrade` and the check `survey serve` makes."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import db

HERE = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def upgrade(revision: str = "heads") -> None:
    """Bring the database schema up to date (inside an app context)."""
    command.upgrade(alembic_config(), revision)


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def known_revisions() -> set[str]:
    """Every revision this version of the toolkit ships."""
    return {rev.revision for rev in _script().walk_revisions()}


def schema_state() -> tuple[str, set[str]]:
    """("current" | "behind" | "newer" | "empty", the database's revisions).

    "newer" means the database was migrated by a later version of the toolkit than this one
    (a revision this code does not know): upgrading it cannot help, only installing that
    version again (or restoring the backup taken before the upgrade) can."""
    heads = set(_script().get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return "current", current
    if current - known_revisions():
        return "newer", current
    return ("empty" if not current else "behind"), current


def is_current() -> bool:
    """True if the database is at every head revision."""
    return schema_state()[0] == "current"


def schema_problem() -> str | None:
    """What is wrong with the schema for this version of the toolkit, in one sentence (English,
    for operators), or None when it is current."""
    from . import __version__
    state, revisions = schema_state()
    if state == "current":
        return None
    if state == "newer":
        return (f"the database schema ({', '.join(sorted(revisions))}) is newer than this version of "
                f"the toolkit ({__version__}) knows: it was upgraded by a later release. Install that "
                "release again, or restore the backup taken before the upgrade (docs/operators.md, "
                "\"Upgrades and rollback\"); do not run `survey db upgrade` with this version")
    if state == "empty":
        return "the database has no schema yet: run `survey db upgrade` first"
    return "the database schema is not up to date: run `survey db upgrade` first"
