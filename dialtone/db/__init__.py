"""Durable storage shared by the worker and the API (SQLAlchemy; SQLite or PostgreSQL)."""
