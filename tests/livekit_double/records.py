"""What the double saw: one record per HTTP request to a Twirp route.

Tests count API calls per method (e.g. "a re-apply of an unchanged config makes
no Create/Update calls") and compare request ids across client retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from google.protobuf.message import Message


@dataclass
class CallRecord:
    """One request. Fields after ``content_type`` are filled in as it is answered."""

    service: str
    method: str
    #: the decoded request, or None when it could not be decoded
    request: Message | None
    #: X-Livekit-Request-Id ("" when absent); the client keeps it across its retries
    request_id: str
    content_type: str
    #: HTTP status answered; None when the connection was dropped
    status: int | None = None
    #: Twirp error code when the answer was an error
    code: str | None = None
    #: True when an injected fault decided the answer (error or drop)
    faulted: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200
