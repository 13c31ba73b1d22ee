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

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from .conftest import AUTH, CONTACTS, SPEC

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    """The API (with LiveKit's keys, so its webhook checks signatures rather than 503)."""
    made = client.post("/v1/campaigns", json={**SPEC, "contacts": CONTACTS}, headers=AUTH)
    assert made.status_code == 201, made.text
    client.post("/v1/dnc", json={"phones": ["+15550300000"]}, headers=AUTH)
    api = client.app
    assert isinstance(api, FastAPI)
    return api


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
