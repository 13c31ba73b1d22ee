"""What a call record holds, as pydantic models shared by the store, the API and the CLI.

Outcomes are one vocabulary for both directions so that one query answers "how did our
calls end": the outbound ones mirror the campaign outcomes (decided from the SIP status
of a failed dial), the inbound ones say whether the agent answered, and `worker_lost`
marks a record that was closed by its lease or by LiveKit's webhook because the agent
that owned it died.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ..wire import CallOutcome as CallOutcome


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RecordStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    ENDED = "ended"


class HangupBy(StrEnum):
    CALLER = "caller"  # the remote party: the caller inbound, the callee outbound
    AGENT = "agent"
    SYSTEM = "system"  # LiveKit, a timeout, a crash
    UNKNOWN = "unknown"


class TranscriptLine(BaseModel):
    at: float = Field(description="Seconds since the call record started")
    speaker: str = Field(description="caller | agent")
    text: str
    interrupted: bool = False


class LatencySummary(BaseModel):
    """Per-turn figures of one call, in milliseconds; None where nothing was measured."""

    turns: int = 0
    response_median_ms: float | None = Field(
        None, description="End of caller speech to first agent audio, median"
    )
    response_p95_ms: float | None = None
    llm_ttft_median_ms: float | None = None
    llm_ttft_p95_ms: float | None = None
    tts_ttfb_median_ms: float | None = None
    tts_ttfb_p95_ms: float | None = None


class CallRecord(BaseModel):
    """One call, as stored (numbers and transcript already masked per the retention)."""

    id: str
    status: RecordStatus
    direction: Direction
    sip_call_id: str | None = None
    room: str | None = None
    caller_number: str | None = Field(None, description="Who called (outbound: our caller id)")
    called_number: str | None = Field(None, description="Who was called")
    trunk: str | None = None
    persona: str | None = None
    campaign_id: str | None = None
    attempt_id: str | None = None
    started_at: datetime
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: CallOutcome | None = None
    hangup_by: HangupBy | None = None
    disconnect_reason: str | None = None
    sip_status_code: int | None = None
    sip_status: str | None = None
    transfer_outcome: str | None = None
    dropped: bool = Field(False, description="Ended during an agent turn or with an error")
    tools: list[str] = Field(default_factory=list)
    latency: LatencySummary = Field(default_factory=LatencySummary)
    interruptions: int = 0
    closed_by: str | None = Field(None, description="worker | lease | webhook")
    detail: str | None = None
    answer: str | None = Field(
        None, description="Outbound: who answered (human, voicemail, screening, ivr, unsure)"
    )
    answer_decided_ms: float | None = Field(
        None, description="Outbound: from the far end's first speech to knowing who answered"
    )
    transcript: list[TranscriptLine] | None = Field(
        None, description="Omitted from lists; null when the retention drops transcripts"
    )
