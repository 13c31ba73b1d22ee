"""`/metrics` (Prometheus) and `/openapi.json`: the operator's view of the server itself.

OpenAPI is served only to holders of the API token (it lists every route an attacker
would probe), and carries the campaign body's full schema: the create route reads its
body by hand (JSON or multipart), so FastAPI cannot derive it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from ..campaigns.models import CampaignCreate
from ..metrics import render
from .auth import require_metrics_token, require_token
from .errors import Refusal
from .services import Services

router = APIRouter()


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_metrics_token)])
def metrics(services: Services) -> Response:
    """Prometheus; the metrics token (or the API token) is required, see the README."""
    body, content_type = render(services.metrics_registry)
    return Response(body, media_type=content_type)


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        body = CampaignCreate.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["CampaignCreate"] = body
        # Every 422 has this API's shape, not FastAPI's default (`detail` as a list).
        components.pop("ValidationError", None)
        components["HTTPValidationError"] = Refusal.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(components["HTTPValidationError"].pop("$defs", {}))
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


@router.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_token)])
def openapi(request: Request) -> dict[str, Any]:
    return openapi_schema(request.app)
