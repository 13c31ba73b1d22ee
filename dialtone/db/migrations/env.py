"""Alembic's entry point, always run by `dialtone.db.upgrade` on a connection it holds.

There is no alembic.ini and no URL here: `upgrade` opens the transaction (and, on
PostgreSQL, the advisory lock) and hands its connection over in `config.attributes`, so
the migration commits or rolls back with that one transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dialtone.db.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `dialtone db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
)
with context.begin_transaction():
    context.run_migrations()
