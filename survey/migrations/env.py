"""Alembic environment: migrate the database the Flask app is configured with."""
from alembic import context
from flask import current_app

from survey.db import db
import survey.models  # noqa: F401  (registers every table)

target_metadata = db.metadata


def run_migrations_online():
    """Run migrations on the app's engine, in one transaction."""
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


with current_app.app_context():
    run_migrations_online()
