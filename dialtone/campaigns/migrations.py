"""The campaign API's name for bringing the database up to date: `db.upgrade.upgrade`.

The schema history is Alembic's now (`dialtone/db/migrations/`); this name stays so
`create_app` and `dialtone campaigns migrate` keep working.
"""

from __future__ import annotations

from ..db.upgrade import upgrade as migrate

__all__ = ["migrate"]
