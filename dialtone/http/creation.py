"""Creating a campaign (or an ad-hoc call) from a request: validate, store, answer.

A campaign with any bad row is refused whole, its problems listed as `{row, field,
reason}` (the first 100; `more_errors` counts the rest). Besides each field's own rules,
the persona and trunk must exist and every contact must carry the variables the
persona's reminder uses (`catalog`). Creates honour `Idempotency-Key`: the same key with the same
request returns the first campaign (`Idempotent-Replayed: true`), with a different
request a 422.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.responses import JSONResponse, Response

from ..campaigns.models import (
    NO_CONTACTS,
    CampaignSettings,
    ContactChecker,
    ContactIn,
    RowError,
    RowErrors,
    SpecError,
    parse_settings,
)
from ..campaigns.store import IdempotencyMismatch
from ..netguard import Allowed, DestinationRefused, check_destination
from .catalog import check_targets
from .errors import problems
from .policy_view import full_campaign_view
from .services import AppServices, audit_api

MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 512


def secret_problems(raw: dict[str, Any], secret: Any, has_default: bool) -> list[RowError]:
    """`webhook_secret` is taken out of the spec (never stored in it, never read back)."""
    url = raw.get("webhook_url")
    if secret is None:
        if url and not has_default:
            return [
                RowError(
                    None,
                    "webhook_secret",
                    "webhook_url needs a signing secret: give webhook_secret or set "
                    "DIALTONE_WEBHOOK_SECRET on the server",
                )
            ]
        return []
    if (
        not isinstance(secret, str)
        or not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS
        or "\x00" in secret
    ):
        return [
            RowError(
                None,
                "webhook_secret",
                f"a string of {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters, without NUL",
            )
        ]
    if not url:
        return [RowError(None, "webhook_secret", "given without a webhook_url")]
    return []


def _settings_digest(settings: CampaignSettings, secret: str | None) -> str:
    """The part of an Idempotency-Key's request hash that is not the contacts."""
    return json.dumps(
        {
            "settings": settings.model_dump(mode="json"),
            "webhook_secret": hashlib.sha256(secret.encode()).hexdigest() if secret else None,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


async def create(
    services: AppServices,
    *,
    scope: str,
    key: str | None,
    raw: dict[str, Any],
    rows: Iterable[tuple[int, Any]],
    kind: str,
    errors: RowErrors,
) -> Response:
    """Validate and store while reading `rows` (a stream for CSV uploads).

    `errors` holds, and keeps receiving while `rows` is read, the file's own
    problems. Contacts go to the database in chunks inside one transaction; any
    problem found on the way rolls it back, so nothing is half-created, and every
    problem is reported at once.
    """
    store, clock = services.campaigns, services.clock
    secret = raw.pop("webhook_secret", None)
    errors.extend(secret_problems(raw, secret, bool(services.default_webhook_secret)))
    if not isinstance(secret, str):
        secret = None  # refused above when it was given at all
    spec = parse_settings(raw, errors)
    if spec is not None and spec.webhook_url:
        allowed = Allowed.from_setting(services.settings.webhook_allow)
        try:
            await asyncio.to_thread(
                check_destination, spec.webhook_url, allowed, must_resolve=False
            )
        except DestinationRefused as exc:
            errors.append(RowError(None, "webhook_url", str(exc)))
    needs: frozenset[str] = frozenset()
    if spec is not None:
        targets = await asyncio.to_thread(
            check_targets, services.settings, spec.persona, spec.outbound_trunk
        )
        errors.extend(targets.errors)
        needs = targets.needs
    checker = ContactChecker(
        services.policy, errors, needs=needs, needed_by=spec.persona if spec else ""
    )
    digest = hashlib.sha256()

    def valid() -> Iterator[tuple[int, ContactIn]]:
        for row, contact in checker.stream(rows):
            digest.update(contact.model_dump_json().encode() + b"\n")
            yield row, contact
        checker.finish()

    try:
        if spec is None:
            for _ in valid():
                pass
            raise SpecError(errors)  # not reached: finish() raised
        digest.update(_settings_digest(spec, secret).encode())
        idem = (scope, key, digest.hexdigest) if key is not None else None
        campaign_id, replayed = await asyncio.to_thread(
            functools.partial(
                store.create_campaign,
                spec,
                valid(),
                clock(),
                kind=kind,
                idempotency=idem,
                webhook_secret=secret,
            )
        )
    except SpecError as exc:
        found = exc.errors
        if len(found) + exc.more > 1:  # "no contacts" only restates the file's own problem
            found = [e for e in found if e.reason != NO_CONTACTS]
        return problems(found, "the campaign was not created", exc.more)
    except IdempotencyMismatch as exc:
        return JSONResponse(status_code=422, content={"detail": str(exc), "errors": []})
    if not replayed and scope != "console":  # the console audits with the person's name
        await asyncio.to_thread(audit_api, services, f"{kind}.create", campaign_id, spec.name)
    view = await asyncio.to_thread(full_campaign_view, services, campaign_id, clock())
    headers = {"Location": f"/v1/campaigns/{campaign_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(status_code=201, content=view.model_dump(mode="json"), headers=headers)


CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CampaignCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["campaign", "contacts"],
                    "properties": {
                        "campaign": {
                            "type": "string",
                            "description": "CampaignSettings as JSON (no contacts)",
                        },
                        "contacts": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV: phone (required), name, timezone; other "
                            "columns become variables. Row N in errors is the Nth contact "
                            "(the header is not counted), as in a JSON list.",
                        },
                    },
                }
            },
        },
    }
}
