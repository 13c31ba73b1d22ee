"""Error bodies: `{detail}` always, plus `{errors: [{row, field, reason}]}` for bad input.

One shape for every 422, whether FastAPI's validation or a campaign's rows found it,
so a client reads every refusal the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..campaigns.models import RowError, RowErrors, strip_value_error
from ..campaigns.store import NotFound, StoreError

#: What FastAPI answers when its own JSON parsing raised something else than a decode
#: error (an integer past the int-string limit, nesting past the recursion limit).
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


class Problem(BaseModel):
    row: int | None = Field(description="The contact, from 1 (JSON and CSV alike); null: no row")
    field: str
    reason: str


class Refusal(BaseModel):
    """Every 422 (and the 413) of this API: what was refused, and each problem."""

    detail: str
    errors: list[Problem] = Field(description="The first 100 problems")
    more_errors: int | None = Field(None, description="How many more were found; absent: none")


def problems(errors: Iterable[RowError], what: str, more: int = 0) -> JSONResponse:
    """422 listing the problems (at most `MAX_LISTED_ERRORS`; `more_errors` counts the rest)."""
    bounded = RowErrors()
    bounded.extend(errors)
    more += bounded.more
    content: dict[str, object] = {
        "detail": f"{what}: {len(bounded.listed) + more} problem(s); nothing was created",
        "errors": [e.as_dict() for e in bounded.listed],
    }
    if more:
        content["more_errors"] = more
    return JSONResponse(status_code=422, content=content)


def json_refusal(field: str, exc: BaseException) -> JSONResponse:
    """The 422 for a body that cannot be read as JSON, saying which rule it broke."""
    if isinstance(exc, RecursionError):
        reason = "nested too deeply (a campaign needs a few levels)"
    elif "digits" in str(exc) and "int" in str(exc):
        reason = "a number with more than 4300 digits"
    else:
        reason = f"not JSON: {exc}"
    return problem(None, field, reason, "invalid body")


def problem(row: int | None, field: str, reason: str, what: str) -> JSONResponse:
    return problems([RowError(row, field, reason)], what)


def _field(error: dict[str, object]) -> str:
    if error.get("type") == "json_invalid":
        return "(body)"  # FastAPI puts the character offset in the location
    loc = error.get("loc") or ()
    assert isinstance(loc, tuple | list)
    return ".".join(str(p) for p in loc if p != "body") or "(body)"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [RowError(None, _field(e), strip_value_error(str(e["msg"]))) for e in exc.errors()]
    return problems(errors, "invalid request")


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's opaque 400 for an unreadable body becomes the 422 naming the rule broken."""
    assert isinstance(exc, StarletteHTTPException)
    cause = exc.__cause__
    if exc.detail == _FASTAPI_BODY_ERROR and isinstance(cause, ValueError | RecursionError):
        return json_refusal("(body)", cause)
    return await http_exception_handler(request, exc)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


def install_error_handlers(app: FastAPI) -> None:
    """NotFound is 404 and any other store refusal 409 (e.g. resuming a cancelled campaign)."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(StoreError, _conflict)
