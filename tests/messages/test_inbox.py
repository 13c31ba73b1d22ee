"""Finding messages by words, name or number, within the newest messages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialtone.db.engine import new_engine
from dialtone.db.upgrade import upgrade
from dialtone.messages import inbox
from dialtone.messages.inbox import MessageFilter, page_messages
from dialtone.messages.store import MessageStore


def test_search_matches_words_names_and_numbers_case_insensitively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = new_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = MessageStore(engine)
    for text, name, number in (
        ("an old message about 100% of the bill", None, "+15550100001"),
        ("Please call back about my crown", "Ann Lee", "+15550100002"),
        ("Billing question", "Bo Chen", "+15550100003"),
    ):
        asyncio.run(
            store.add(
                persona="receptionist",
                message=text,
                caller_number=number,
                caller_name=name,
                call_id=None,
                room=None,
            )
        )

    def found(text: str) -> list[str]:
        page, _ = page_messages(engine, MessageFilter(text=text), limit=10)
        return [m.message for m in page]

    assert found("CROWN") == ["Please call back about my crown"]
    assert found("chen") == ["Billing question"]
    assert found("0100003") == ["Billing question"]
    assert found("100%") == ["an old message about 100% of the bill"]  # % is literal
    assert found("nowhere") == []
    monkeypatch.setattr(inbox, "SEARCH_WINDOW", 2)  # only the newest two are searched
    assert found("100%") == []
    assert found("crown") == ["Please call back about my crown"]
    engine.dispose()
