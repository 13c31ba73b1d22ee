"""Who may call what: the operator's bearer token, an attempt's token, the scraper's.

Every `/v1` route and `/openapi.json` need `Authorization: Bearer <DIALTONE_API_TOKEN>`.
The reminder agent's two routes (`/v1/attempts/{id}/dial|outcome`) take that attempt's
own callback token instead (checked by the store): an agent never holds the operator's
token. `/metrics` takes DIALTONE_METRICS_TOKEN or the API token: the scraper should not
hold a token that can place calls. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Header, HTTPException

from .services import Services

Authorization = Annotated[str | None, Header(include_in_schema=False)]


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _refuse() -> HTTPException:
    return HTTPException(
        401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def require_token(services: Services, authorization: Authorization = None) -> None:
    """The operator's token: every `/v1` route but the agent's and LiveKit's."""
    given = bearer(authorization)
    if given is None or not hmac.compare_digest(given.encode(), services.api_token):
        raise _refuse()


def require_metrics_token(services: Services, authorization: Authorization = None) -> None:
    """The metrics token or the API token."""
    given = (bearer(authorization) or "").encode()
    ok = hmac.compare_digest(given, services.api_token) or (
        bool(services.metrics_token) and hmac.compare_digest(given, services.metrics_token)
    )
    if not ok:
        raise _refuse()


def attempt_token(authorization: Authorization = None) -> str:
    """The reminder agent's per-attempt callback token (checked by the store)."""
    given = bearer(authorization)
    if given is None:
        raise HTTPException(
            401, "the attempt's callback token is required", {"WWW-Authenticate": "Bearer"}
        )
    return given
