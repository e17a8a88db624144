"""Schema migrations with Alembic: `survey db upgrade` and the check `survey serve` makes."""
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


def is_current() -> bool:
    """True if the database is at every head revision."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads
