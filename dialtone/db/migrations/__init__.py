"""The schema history (Alembic): `env.py` and one module per revision in `versions/`."""
