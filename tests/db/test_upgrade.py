"""`upgrade` on a database the release before Alembic wrote: every row kept, then usable.

The fixtures were written by that release's own code (campaign schema_version 3, call
records, messages; one row or more in every table) and dumped per dialect.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from dialtone.campaigns.models import ContactState
from dialtone.campaigns.store import CampaignStore, ClaimLimits
from dialtone.console_web.callquery import CallQuery, find_calls
from dialtone.db import rollup
from dialtone.db.engine import new_engine
from dialtone.db.tables import call_records, call_rollup, metadata
from dialtone.db.upgrade import BASELINE, SchemaTooNew, head_revision, upgrade
from dialtone.messages.store import MessageStore
from dialtone.records.store import RecordStore
from tests.campaigns.conftest import T0, people, settings
from tests.campaigns.helpers import contact_states
from tests.postgres import PostgresServer

from .conftest import load_postgresql, load_sqlite

RELEASE_CAMPAIGN = "release fixture"


# Columns later revisions added, with the value a release's row gets (0002: handled_at;
# 0004: the dial permit's job and the per-attempt deadline, null on a release's attempts,
# which keep the old fixed deadline; 0007: the caller's name with a message; 0005 (after
# 0007): a contact's location, read from its number when the policy decides, and whether
# a person-answered call was abandoned; 0006 (after 0005): who answered an outbound call
# and how long that took to know, null on a release's records).
ADDED = {
    "messages": ("handled_at", "caller_name"),
    "campaign_attempts": ("dial_job_id", "budget_seconds", "deadline_at", "abandoned"),
    "campaign_contacts": ("country", "region", "location_source"),
    "call_records": ("answer", "answer_decided_ms"),
}
# Columns and tables later revisions added and filled from the release's rows (0003).
BACKFILLED = {"call_records": ("caller_number_rev", "called_number_rev")}
NEW_TABLES = {
    "call_rollup",
    "trunk_sends",
    "console_users",
    "console_sessions",
    "signin_throttle",
    "audit_log",
    "campaign_policy_refusals",
}


def snapshot(engine: Engine, *, released: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as the database returns it (raw SQL, no column types).

    `released`: only the columns the release had, so "nothing changed" compares like
    with like after a revision added columns (checked to be null on every old row).
    """
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            if name == "alembic_version" or (released and name in NEW_TABLES):
                continue
            result = conn.execute(text(f'SELECT * FROM "{name}"'))
            keys = list(result.keys())
            rows = [dict(zip(keys, map(str, r), strict=True)) for r in result]
            added = ADDED.get(name, ()) if released else ()
            for row in rows:
                assert all(row.pop(a, "None") == "None" for a in added), row
                for a in BACKFILLED.get(name, ()) if released else ():
                    row.pop(a, None)
            out[name] = sorted(tuple(row.values()) for row in rows)
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def release_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return load_sqlite("release_sqlite.sql", tmp_path / "dialtone.db")
    return load_postgresql("release_postgresql.sql", request.getfixturevalue("postgres_url"))


def test_a_release_database_keeps_every_row_and_works(release_db: str) -> None:
    engine = new_engine(release_db)
    before = snapshot(engine)
    assert set(metadata.tables) - NEW_TABLES | {"schema_version"} == set(before)
    assert {name for name, rows in before.items() if not rows} == set()  # rows everywhere

    done = upgrade(engine)

    assert done.adopted and done.before is None and done.head == head_revision()
    assert snapshot(engine) == before  # nothing lost, nothing changed
    again = upgrade(engine)
    assert not again.adopted and again.before == again.head
    assert snapshot(engine) == before

    # The current code reads what the release wrote and writes beside it.
    campaigns = CampaignStore(engine)
    with engine.connect() as conn:
        old_id = conn.scalar(text("SELECT id FROM campaigns"))
        record_id = conn.scalar(text("SELECT id FROM call_records WHERE direction = 'inbound'"))
    assert campaigns.get_campaign(old_id).name == RELEASE_CAMPAIGN
    assert ContactState.COMPLETED in contact_states(campaigns, old_id).values()
    new_id, _ = campaigns.create_campaign(settings(), people(2), T0)
    assert len(campaigns.claim_due(T0, ClaimLimits(calls_per_second=100.0))) >= 2
    record = RecordStore(engine).get(record_id)
    assert record is not None and record.caller_number == "+15550100200"
    messages = MessageStore(engine)
    asyncio.run(
        messages.add(
            persona="receptionist", message="after", caller_number=None, call_id=None, room=None
        )
    )
    texts = {m.message for m in messages.list()}
    assert {"Please call me back about Tuesday.", "Second message", "after"} <= texts
    assert new_id != old_id
    engine.dispose()


def test_an_upgraded_release_has_its_overview_counters_and_reversed_numbers(
    release_db: str,
) -> None:
    engine = new_engine(release_db)
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(*rollup.COLUMNS)).all()
        counters = {(r.day, r.kind, r.key): r.n for r in conn.execute(select(call_rollup)) if r.n}
        numbers = conn.execute(
            select(
                call_records.c.caller_number,
                call_records.c.caller_number_rev,
                call_records.c.called_number,
                call_records.c.called_number_rev,
            )
        ).all()
    assert rows and counters == dict(rollup.count(rows))
    assert all(
        (a is None and b is None) or a == b[::-1]
        for caller, caller_rev, called, called_rev in numbers
        for a, b in ((caller, caller_rev), (called, called_rev))
    )
    found, _ = find_calls(engine, CallQuery(number="0100200"))
    assert [r.caller_number for r in found] == ["+15550100200"]
    engine.dispose()


def test_a_worker_file_with_only_messages_is_completed_in_place(tmp_path: Path) -> None:
    engine = new_engine(load_sqlite("release_messages_only_sqlite.sql", tmp_path / "d.db"))
    before = snapshot(engine)["messages"]

    assert upgrade(engine).adopted

    after = snapshot(engine)
    assert after["messages"] == before and len(before) == 1
    assert set(metadata.tables) <= set(snapshot(engine, released=False))
    assert after["claim_lock"] == [("claims", "0")]  # claims can be taken at once
    CampaignStore(engine).create_campaign(settings(), people(1), T0)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_fresh_database_gets_every_table(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'fresh.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    engine = new_engine(url)
    done = upgrade(engine)
    assert done.before is None and not done.adopted and done.head == head_revision() != BASELINE
    tables = snapshot(engine, released=False)
    assert set(metadata.tables) <= set(tables) and "schema_version" not in tables
    assert tables["claim_lock"] == [("claims", "0")]
    engine.dispose()


def test_a_newer_legacy_schema_is_refused(tmp_path: Path) -> None:
    engine = new_engine(load_sqlite("release_sqlite.sql", tmp_path / "dialtone.db"))
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO schema_version VALUES (4, 'from the future', '2030-01-01 00:00')")
        )
    with pytest.raises(SchemaTooNew, match="version 4"):
        upgrade(engine)
    engine.dispose()


def test_replicas_upgrading_at_once_on_postgresql_all_succeed(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    errors: list[BaseException] = []
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def replica() -> None:
        engine = new_engine(postgres_url)  # its own pool, as another process would have
        try:
            barrier.wait()
            results.append(upgrade(engine).before is None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results.count(True) == 1  # exactly one created the schema; the rest found it
    check = new_engine(postgres_url)
    assert snapshot(check)["claim_lock"] == [("claims", "0")]
    check.dispose()
