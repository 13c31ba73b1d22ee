"""Schemathesis over the served OpenAPI document: every route, SQLite and PostgreSQL.

Each operation of `/openapi.json` (fetched with the bearer token, as a client would)
gets requests generated from its own schema, valid and not (Schemathesis' positive
and negative modes), sent in-process to the
ASGI app with the operator's token. Whatever is sent, the answer is never a 5xx, and
an answer the document describes matches its schema. A campaign and a DNC entry exist
first, so the read routes have something to show besides 404.

Bounded by `MAX_EXAMPLES` per operation so that a backend takes well under a minute;
`derandomize` makes a run repeatable (a failure found once is found again).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import Engine

from dialtone.config import load_settings
from dialtone.http.server import create_app
from tests.campaigns.conftest import FakeClock

from .conftest import AUTH, CONTACTS, REPO, SPEC, TOKEN

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def app(
    engine: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FastAPI]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    configured = load_settings(
        api_token=SecretStr(TOKEN),
        data_dir=tmp_path / "data",
        persona_dir=REPO / "personas",
        trunks_dir=REPO / "trunks",
        # LiveKit's webhook answers 503 without them: the server's set-up, not the request
        livekit_api_key="APIfuzz",
        livekit_api_secret=SecretStr("fuzz-secret-0123456789abcdef0123456789"),
    )
    api = create_app(configured, engine, clock=clock)
    with TestClient(api) as client:
        made = client.post("/v1/campaigns", json={**SPEC, "contacts": CONTACTS}, headers=AUTH)
        assert made.status_code == 201, made.text
        client.post("/v1/dnc", json={"phones": ["+15550300000"]}, headers=AUTH)
        yield api


def test_every_operation_survives_generated_requests(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17  # every route of the API is in the document
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE))
        def run(case: Any) -> None:
            response = case.call(headers=AUTH)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation is tried; all failures shown together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
