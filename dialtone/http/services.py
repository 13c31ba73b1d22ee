"""What the routes share, kept on `app.state` and handed to them through `Depends`.

Routes never close over the app's construction: a router module can be read, tested
and reused on its own, and every route sees the same stores, clock and tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from ..accounts.audit import AuditLog
from ..campaigns.destinations import DestinationPolicy
from ..campaigns.store import CampaignStore
from ..config import Settings
from ..messages.store import MessageStore
from ..records.audio import RecordingStorage
from ..records.metrics import CallMetrics
from ..records.store import RecordStore


@dataclass(frozen=True)
class AppServices:
    settings: Settings
    engine: Engine
    campaigns: CampaignStore
    records: RecordStore
    messages: MessageStore
    clock: Callable[[], datetime]
    policy: DestinationPolicy
    api_token: bytes
    metrics_token: bytes
    default_webhook_secret: str
    metrics_registry: CollectorRegistry
    call_metrics: CallMetrics
    #: None under DIALTONE_RECORD_AUDIO=drop
    recordings: RecordingStorage | None


def audit_api(services: AppServices, action: str, target: str, detail: str | None = None) -> None:
    """A change made through the API, in the audit log the console shows: its author is
    whoever holds the API token, so that is what it says."""
    AuditLog(services.engine, clock=services.clock).add(
        actor="api token", action=action, target=target, detail=detail
    )


def app_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


Services = Annotated[AppServices, Depends(app_services)]
