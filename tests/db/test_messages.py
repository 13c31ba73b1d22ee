"""The receptionist's messages go where DIALTONE_DATABASE_URL points, like every store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from dialtone.config import Settings
from dialtone.db.engine import new_engine
from dialtone.inbound import entry


async def test_a_message_taken_by_the_worker_is_stored_in_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(database_url=postgres_url, data_dir=data_dir)

    store = entry.message_store(settings)  # what `answer_call` hands the agent
    await store.add(
        persona="receptionist",
        message="Call me back about the invoice",
        caller_number="+15551230000",
        call_id="SCL_pg",
        room="call-pg",
    )

    check = new_engine(postgres_url)
    with check.connect() as conn:
        stored = conn.execute(text("SELECT message, call_id FROM messages")).all()
    check.dispose()
    assert [tuple(row) for row in stored] == [("Call me back about the invoice", "SCL_pg")]
    assert not data_dir.exists() or not list(data_dir.glob("*.db"))  # no SQLite file
