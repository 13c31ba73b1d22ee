"""Recording an outbound call (the reminder agent): the record opens when the dial is
placed, so an attempt refused before dialling (no permit, window closed) leaves none.

    recording = OutboundRecording(ctx, session, start, settings=settings)
    result = await run_attempt(..., recording.sip(ctx.api.sip), ...)   # dials through it
    await recording.finish(result.outcome.value, result.detail)        # or (None, "")

`sip(...)` wraps the LiveKit SIP client: its `create_sip_participant` goes through
`CallRecorder.dial`, which notes the dial, the answer or the failure's SIP status. The
campaign's outcome (voicemail, opted out, ...) then completes the record; a dial failure
keeps the outcome its SIP status gave.
"""

from __future__ import annotations

from typing import Any, Protocol

from livekit.agents import AgentSession, JobContext

from ..config import Settings
from ..telephony.sip_status import RECORD_OUTCOME
from ..turn_metrics import TurnMetricsRecorder
from ..wire import CALLEE_IDENTITY, Outcome
from .job import record_job_call
from .models import CallOutcome
from .recorder import CallRecorder
from .store import CallStart


class SipDial(Protocol):
    async def create_sip_participant(
        self,
        create: Any,
        *,
        timeout: float | None = ...,  # noqa: ASYNC109 (the livekit-api signature)
    ) -> Any: ...


class RecordedDial:
    """A SIP client whose dials are recorded (see the module docstring)."""

    def __init__(self, sip: SipDial, recording: OutboundRecording) -> None:
        self._sip = sip
        self._recording = recording

    async def create_sip_participant(
        self,
        create: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the livekit-api signature)
    ) -> Any:
        recorder = await self._recording.open()
        return await recorder.dial(self._sip.create_sip_participant(create, timeout=timeout))


class OutboundRecording:
    def __init__(
        self,
        ctx: JobContext,
        session: AgentSession,
        start: CallStart,
        *,
        settings: Settings,
        participant_identity: str = CALLEE_IDENTITY,
    ) -> None:
        self._ctx = ctx
        self._session = session
        self._start = start
        self._settings = settings
        self._identity = participant_identity
        self.recorder: CallRecorder | None = None
        self._provider_changes: list[tuple[str, str, bool]] = []

    def provider_changed(self, kind: str, provider: str, available: bool) -> None:
        """A fallback chain's link went down or up (`Pipeline.on_fallback`).

        The record opens only when the dial is placed, but a provider can fail before
        (the AMD classifier, a warm-up): remember the change and replay it on open, so
        the record's degraded turns are right from the first.
        """
        if self.recorder is None:
            self._provider_changes.append((kind, provider, available))
        else:
            self.recorder.provider_changed(kind, provider, available)

    async def open(self) -> CallRecorder:
        if self.recorder is None:
            self.recorder = await record_job_call(
                self._ctx,
                self._session,
                self._start,
                settings=self._settings,
                participant_identity=self._identity,
                turns=TurnMetricsRecorder(self._session, call_id=self._start.attempt_id),
            )
            for change in self._provider_changes:
                self.recorder.provider_changed(*change)
            self._provider_changes.clear()
            self.recorder.dialing()
        return self.recorder

    def answer_decided(self, verdict: Any) -> None:
        """Who answered (`outbound.answering.Verdict`), for the record and the histogram."""
        if self.recorder is not None:
            self.recorder.answer_decided(verdict.answer.value, verdict.decided_after_s)

    def sip(self, sip: SipDial) -> RecordedDial:
        return RecordedDial(sip, self)

    async def finish(self, campaign_outcome: Outcome | None, detail: str = "") -> None:
        """Complete the record with the attempt's result (None: no call was placed)."""
        recorder = self.recorder
        if recorder is None:
            return
        outcome = None if campaign_outcome is None else RECORD_OUTCOME[campaign_outcome]
        if outcome is not None and (recorder.answered_at is not None or not recorder.failed_dial):
            if campaign_outcome is Outcome.FAILED and recorder.answered_at is not None:
                recorder.error(detail or "the agent failed after the answer")
                outcome = CallOutcome.COMPLETED
            recorder.set_outcome(outcome, detail or None)
        await recorder.finish("attempt over")
