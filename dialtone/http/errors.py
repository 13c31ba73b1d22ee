"""Error bodies: `{detail}` always, plus `{errors: [{row, field, reason}]}` for bad input.

One shape for every 422, whether FastAPI's validation or a campaign's rows found it,
so a client reads every refusal the same way.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..campaigns.models import RowError, strip_value_error
from ..campaigns.store import NotFound, StoreError


def problems(errors: list[RowError], what: str) -> JSONResponse:
    """422 listing every problem at once, so a client fixes them in one go."""
    return JSONResponse(
        status_code=422,
        content={
            "detail": f"{what}: {len(errors)} problem(s); nothing was created",
            "errors": [e.as_dict() for e in errors],
        },
    )


def problem(row: int | None, field: str, reason: str, what: str) -> JSONResponse:
    return problems([RowError(row, field, reason)], what)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        RowError(
            None,
            ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
            strip_value_error(str(e["msg"])),
        )
        for e in exc.errors()
    ]
    return problems(errors, "invalid request")


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


def install_error_handlers(app: FastAPI) -> None:
    """NotFound is 404 and any other store refusal 409 (e.g. resuming a cancelled campaign)."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(StoreError, _conflict)
