"""`CallRecorder`: what the agent learns during one call, written as one call record.

The recorder is told about the call by the code that handles it (the worker for inbound
calls, the reminder agent for outbound ones, the simulator) and listens to the
`AgentSession` for the transcript, tools, turns and how the session closed. It writes
twice: a partial record with a lease at `start()` (renewed every `renew_every` seconds
while the call runs, so a dead worker's record is closed by the lease), and the whole
record once at `finish()`, which also counts the call in the metrics.

A recorder must never change what happens to the caller: every database or metrics
failure is logged and swallowed, and the database writes run in a thread so the audio
loop is never blocked.

Inbound calls (dialtone/worker.py), one call: `record_job_call(ctx, session, start, ...)`
(dialtone/records/job.py) opens the record and finishes it at job shutdown; call
`recorder.answered()` once the agent picked up. Outbound calls (the reminder agent):
`OutboundRecording` (dialtone/records/outbound.py) wraps the SIP client so the record
opens at the dial and `dial` notes the answer or the failure's SIP status::

    recording = OutboundRecording(ctx, session, CallStart(Direction.OUTBOUND, ...), settings=s)
    info = await recording.sip(lk.sip).create_sip_participant(request)  # answer or raise
    await recording.finish("voicemail", "left the message after the beep")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from livekit.agents import AgentSession
from livekit.agents.llm import ChatMessage
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    FunctionToolsExecutedEvent,
)

from ..telephony.caller import ATTR_CALL_STATUS
from ..telephony.outcomes import TransferOutcome, TransferResult, add_transfer_listener
from ..telephony.sip_status import DialFailed, DialFailure, classify_dial_error
from ..turn_metrics import TurnMetrics
from .metrics import CallMetrics, seconds_between
from .models import (
    CallOutcome,
    CallRecord,
    Direction,
    HangupBy,
    LatencySummary,
    RecordStatus,
    TranscriptLine,
)
from .store import CallEnd, CallStart, RecordStore

logger = logging.getLogger("dialtone.records")

T = TypeVar("T")
Clock = Callable[[], datetime]
LEASE = timedelta(seconds=60)
RENEW_EVERY = 20.0


def utc_now() -> datetime:
    return datetime.now(UTC)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    ms = [v * 1000 for v in values]
    return round(statistics.median(ms), 1), round(_pct(ms, 0.95), 1)


def summarize_turns(turns: list[TurnMetrics]) -> LatencySummary:
    """Median and p95 of each per-turn figure, in milliseconds."""
    response = [t.e2e_latency for t in turns if t.e2e_latency is not None]
    ttft = [t.llm_ttft for t in turns if t.llm_ttft is not None]
    ttfb = [t.tts_ttfb for t in turns if t.tts_ttfb is not None]
    rm, rp = _summary(response)
    lm, lp = _summary(ttft)
    tm, tp = _summary(ttfb)
    return LatencySummary(
        turns=len(turns),
        response_median_ms=rm,
        response_p95_ms=rp,
        llm_ttft_median_ms=lm,
        llm_ttft_p95_ms=lp,
        tts_ttfb_median_ms=tm,
        tts_ttfb_p95_ms=tp,
    )


class TurnSource(Protocol):
    """Anything with the call's `turns` so far (dialtone.turn_metrics.TurnMetricsRecorder)."""

    turns: list[TurnMetrics]


@dataclass
class _Ending:
    by: HangupBy
    reason: str
    agent_state: str


class CallRecorder:
    """One call's record; see the module docstring."""

    def __init__(
        self,
        store: RecordStore | None,
        start: CallStart,
        *,
        metrics: CallMetrics | None = None,
        clock: Clock = utc_now,
        lease: timedelta = LEASE,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.store = store
        self.call = start
        self.metrics = metrics
        self.clock = clock
        self.lease = lease
        self.renew_every = renew_every
        self.record_id: str | None = None
        self.record: CallRecord | None = None
        self.started_at: datetime | None = None
        self._t0 = time.monotonic()
        self._sip_call_id = start.sip_call_id
        self._dial_at: datetime | None = None
        self._ringing_at: datetime | None = None
        self._answered_at: datetime | None = None
        self._outcome: CallOutcome | None = None
        self._detail: str | None = None
        self._answer: str | None = None
        self._answer_s: float | None = None
        self._sip_code: int | None = None
        self._sip_status: str | None = None
        self._transfer: TransferResult | None = None
        self._error: str | None = None
        self._ending: _Ending | None = None
        self._agent_state = "initializing"
        self._tools: list[str] = []
        self._transcript: list[TranscriptLine] = []
        self._interruptions = 0
        self._down: dict[str, str] = {}  # kind -> provider of chain links now down
        self._fallbacks: dict[str, str] = {}  # every link that went down, for the note
        self._agent_turns = 0
        self._degraded_turns: list[int] = []
        self._turns: TurnSource | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._finished = False
        self._dial_failed = False
        self._pending: list[asyncio.Future[None]] = []

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Write the partial record (with its lease) and start renewing the lease."""
        self.started_at = self.clock()
        self._t0 = time.monotonic()
        self._remove_listener = add_transfer_listener(self._on_transfer)
        if self.metrics is not None:
            self.metrics.in_progress.labels(self.call.direction.value).inc()
        if self.store is None:
            return
        try:
            self.record_id = await asyncio.to_thread(
                self.store.open, self.call, self.started_at, self.lease
            )
        except Exception:
            logger.exception("could not write the partial call record; the call goes on")
            self._count_write("error")
            return
        self._heartbeat = asyncio.create_task(self._renew(), name="call-record-lease")

    async def _renew(self) -> None:
        assert self.store is not None and self.record_id is not None
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await asyncio.to_thread(self.store.renew, self.record_id, self.clock(), self.lease)
            except Exception:
                logger.exception("could not renew the call record's lease")

    async def finish(self, reason: str | None = None) -> CallRecord | None:
        """Write the whole record once and count the call; later calls do nothing.

        `reason` (a livekit-agents shutdown reason, or the caller's) only fills in the
        disconnect reason when nothing more precise was noted.
        """
        if self._finished:
            return self.record
        self._finished = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        if self._remove_listener is not None:
            self._remove_listener()
        await self.settled()
        end, drop_reason = self._decide(reason)
        started = self.started_at or end.ended_at
        self.record = self._as_record(end, started)
        if self.store is not None:
            try:
                if self.record_id is not None:
                    await asyncio.to_thread(self.store.close, self.record_id, end)
                else:
                    self.record_id = await asyncio.to_thread(
                        self.store.insert_closed, self.call, end, started
                    )
                self.record.id = self.record_id
                self._count_write("ok")
            except Exception:
                logger.exception("could not write the call record")
                self._count_write("error")
        if self.metrics is not None:
            try:
                self._count(end, drop_reason)
            except Exception:
                logger.exception("could not count the call in the metrics")
        logger.info(
            "call record closed",
            extra={
                "record_id": self.record_id,
                "call_id": self._sip_call_id,
                "outcome": end.outcome.value,
                "hangup_by": end.hangup_by.value,
            },
        )
        return self.record

    # --- what the call's code tells the recorder --------------------------------------

    @property
    def answered_at(self) -> datetime | None:
        return self._answered_at

    @property
    def failed_dial(self) -> bool:
        """A dial raised and its SIP status decided the outcome."""
        return self._dial_failed

    def set_sip_call_id(self, sip_call_id: str | None) -> None:
        if sip_call_id:
            self._sip_call_id = sip_call_id

    def dialing(self) -> None:
        self._dial_at = self._dial_at or self.clock()

    def ringing(self) -> None:
        self._ringing_at = self._ringing_at or self.clock()

    def answered(self) -> None:
        """The far end answered (outbound) or the agent picked up (inbound).

        Also written to the open record at once (in the background), so that if this
        worker dies the lease closing still counts an answered call.
        """
        if self._answered_at is not None:
            return
        self._answered_at = self.clock()
        if self.store is not None and self.record_id is not None:
            self._pending.append(
                asyncio.ensure_future(
                    asyncio.to_thread(self.store.mark_answered, self.record_id, self._answered_at)
                )
            )

    async def settled(self) -> None:
        """Wait for the background writes made so far (`answered`)."""
        pending, self._pending = self._pending, []
        for write in pending:
            try:
                await write
            except Exception:
                logger.exception("could not note the answer on the call record")

    def dial_failed(self, failure: DialFailure) -> CallOutcome:
        """A dial failed: note the SIP status and the outcome it means."""
        outcome = failure.meaning.record
        code, status = failure.sip_status_code, failure.text
        self._outcome = outcome
        self._dial_failed = True
        self._sip_code = code
        self._sip_status = status or None
        self.hung_up(HangupBy.CALLER if code is not None else HangupBy.SYSTEM, status or outcome)
        return outcome

    async def dial(self, call: Awaitable[T]) -> T:
        """Await a `CreateSIPParticipant(wait_until_answered=True)`; record its result.

        A failure is classified here, once, and raised as `DialFailed` carrying that
        classification (the original error is its `__cause__`).
        """
        self.dialing()
        try:
            result = await call
        except Exception as exc:
            failure = classify_dial_error(exc)
            self.dial_failed(failure)
            raise DialFailed(failure) from exc
        self.answered()
        self.set_sip_call_id(getattr(result, "sip_call_id", None))
        return result

    def set_outcome(self, outcome: CallOutcome, detail: str | None = None) -> None:
        """Decide the outcome explicitly (voicemail, or a reminder agent's own result)."""
        self._outcome = outcome
        if detail is not None:
            self._detail = detail

    def answer_decided(self, answer: str, seconds: float | None) -> None:
        """Who answered an outbound call, and how long after their first words we knew."""
        self._answer = answer
        self._answer_s = seconds

    def hung_up(self, by: HangupBy, reason: str) -> None:
        """Who ended the call and why; the first report wins."""
        if self._ending is None:
            self._ending = _Ending(by, reason, self._agent_state)

    def provider_changed(self, kind: str, provider: str, available: bool) -> None:
        """A link of a fallback chain went down or back up (`Pipeline.on_fallback`).

        Agent turns spoken while any cloud link is down are noted in the record's detail:
        they were answered by a fallback (the offline voice or rules), and an operator
        reading a complaint about "the robot voice" should find why.
        """
        key = f"{kind} {provider}"
        if available:
            self._down.pop(key, None)
        else:
            self._down[key] = provider
            self._fallbacks[key] = provider

    def degraded_note(self) -> str | None:
        """The detail line for turns answered while a provider was down, if any."""
        if not self._degraded_turns:
            return None
        turns = ", ".join(str(t) for t in self._degraded_turns)
        return f"degraded turns {turns} (provider down: {', '.join(self._fallbacks)})"

    def error(self, reason: str) -> None:
        self._error = self._error or reason

    # --- listening to the session -----------------------------------------------------

    def attach(self, session: AgentSession, turns: TurnSource | None = None) -> None:
        """Listen to `session`; `turns` is the call's TurnMetricsRecorder, if any."""
        self._turns = turns
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)
        session.on("agent_state_changed", self._on_state)
        session.on("close", self._on_close)

    def attach_room(self, room: Any, identity: str) -> None:
        """Note when and why the SIP participant `identity` leaves a `livekit.rtc.Room`."""

        def _left(participant: Any) -> None:
            if participant.identity != identity:
                return
            from livekit.rtc import DisconnectReason

            code = participant.disconnect_reason
            name = DisconnectReason.Name(code) if code is not None else "UNKNOWN_REASON"
            remote = name in ("CLIENT_INITIATED", "USER_REJECTED", "USER_UNAVAILABLE")
            self.hung_up(
                HangupBy.CALLER if remote else HangupBy.SYSTEM,
                f"participant left: {name.lower()}",
            )
            if name in ("SIP_TRUNK_FAILURE", "MEDIA_FAILURE", "CONNECTION_TIMEOUT"):
                self.error(name.lower())

        def _status(changed: dict[str, str], participant: Any) -> None:
            # LiveKit's SIP service reports the leg's progress in `sip.callStatus`
            # (dialing, ringing, automation, active, hangup): ringing gives the post-dial
            # delay to ringing of an outbound call.
            if participant.identity == identity and changed.get(ATTR_CALL_STATUS) == "ringing":
                self.ringing()

        room.on("participant_disconnected", _left)
        room.on("participant_attributes_changed", _status)

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage) or item.role not in ("user", "assistant"):
            return
        if item.role == "assistant" and item.interrupted:
            self._interruptions += 1
        if item.role == "assistant":
            self._agent_turns += 1
            if self._down:
                self._degraded_turns.append(self._agent_turns)
        text = item.text_content
        if text:
            self._transcript.append(
                TranscriptLine(
                    at=self._elapsed(),
                    speaker="caller" if item.role == "user" else "agent",
                    text=text,
                    interrupted=bool(item.role == "assistant" and item.interrupted),
                )
            )

    def _on_tools(self, event: FunctionToolsExecutedEvent) -> None:
        self._tools.extend(call.name for call in event.function_calls)

    def _on_state(self, event: AgentStateChangedEvent) -> None:
        self._agent_state = event.new_state

    def _on_close(self, event: CloseEvent) -> None:
        if event.reason is CloseReason.ERROR or event.error is not None:
            self.error(f"session error: {event.error}" if event.error else "session error")
        by = {
            CloseReason.PARTICIPANT_DISCONNECTED: HangupBy.CALLER,
            CloseReason.USER_INITIATED: HangupBy.AGENT,
            CloseReason.TASK_COMPLETED: HangupBy.AGENT,
        }.get(event.reason, HangupBy.SYSTEM)
        self.hung_up(by, f"session closed: {event.reason.value}")

    def _on_transfer(self, result: TransferResult, call_id: str | None) -> None:
        if call_id is not None and call_id == self._sip_call_id:
            self._transfer = result

    # --- deciding ---------------------------------------------------------------------

    def _decide(self, reason: str | None) -> tuple[CallEnd, str | None]:
        now = self.clock()
        ending = self._ending or _Ending(
            HangupBy.SYSTEM if reason else HangupBy.UNKNOWN, reason or "", self._agent_state
        )
        transfer = self._transfer
        if self._outcome is not None:
            outcome = self._outcome
        elif transfer is not None and transfer.outcome is TransferOutcome.COMPLETED:
            outcome = CallOutcome.TRANSFERRED
        elif self._answered_at is None:
            if self.call.direction is Direction.INBOUND and self._error is None:
                outcome = CallOutcome.ABANDONED
            else:
                outcome = CallOutcome.FAILED
        else:
            outcome = CallOutcome.COMPLETED
        drop_reason: str | None = None
        if self._answered_at is not None and outcome is not CallOutcome.TRANSFERRED:
            if self._error is not None:
                drop_reason = "error"
            elif ending.by is not HangupBy.AGENT and ending.agent_state in ("speaking", "thinking"):
                drop_reason = "agent_turn"
        turns = self._turns.turns if self._turns is not None else []
        detail = self._detail
        degraded = self.degraded_note()
        if degraded is not None:
            detail = f"{detail}; {degraded}" if detail else degraded
        if self._error is not None:
            detail = f"{detail}; {self._error}" if detail else self._error
        return (
            CallEnd(
                outcome=outcome,
                ended_at=now,
                hangup_by=ending.by,
                disconnect_reason=ending.reason or None,
                sip_call_id=self._sip_call_id,
                ringing_at=self._ringing_at,
                answered_at=self._answered_at,
                sip_status_code=self._sip_code,
                sip_status=self._sip_status,
                transfer_outcome=None if transfer is None else transfer.outcome.value,
                dropped=drop_reason is not None,
                tools=list(self._tools),
                latency=summarize_turns(turns),
                interruptions=self._interruptions,
                transcript=list(self._transcript),
                detail=detail,
                answer=self._answer,
                answer_decided_ms=None
                if self._answer_s is None
                else round(self._answer_s * 1000, 1),
            ),
            drop_reason,
        )

    def _as_record(self, end: CallEnd, started: datetime) -> CallRecord:
        return CallRecord(
            id=self.record_id or "",
            status=RecordStatus.ENDED,
            direction=self.call.direction,
            sip_call_id=end.sip_call_id,
            room=self.call.room,
            caller_number=self.call.caller_number,
            called_number=self.call.called_number,
            trunk=self.call.trunk,
            persona=self.call.persona,
            campaign_id=self.call.campaign_id,
            attempt_id=self.call.attempt_id,
            started_at=started,
            ringing_at=end.ringing_at,
            answered_at=end.answered_at,
            ended_at=end.ended_at,
            outcome=end.outcome,
            hangup_by=end.hangup_by,
            disconnect_reason=end.disconnect_reason,
            sip_status_code=end.sip_status_code,
            sip_status=end.sip_status,
            transfer_outcome=end.transfer_outcome,
            dropped=end.dropped,
            tools=end.tools,
            latency=end.latency,
            interruptions=end.interruptions,
            closed_by="worker",
            detail=end.detail,
            answer=end.answer,
            answer_decided_ms=end.answer_decided_ms,
            transcript=end.transcript,
        )

    def _count(self, end: CallEnd, drop_reason: str | None) -> None:
        assert self.metrics is not None and self.record is not None
        m = self.metrics
        d = self.call.direction.value
        m.in_progress.labels(d).dec()
        m.call_closed(self.record, drop_reason)
        if self.call.direction is Direction.OUTBOUND and self._dial_at is not None:
            ringing = seconds_between(self._dial_at, self._ringing_at)
            if ringing is not None:
                m.post_dial_delay.labels("ringing").observe(ringing)
            answer = seconds_between(self._dial_at, self._answered_at)
            if answer is not None:
                m.post_dial_delay.labels("answer").observe(answer)
        for turn in self._turns.turns if self._turns is not None else []:
            if turn.e2e_latency is not None:
                m.turn_response.labels(d).observe(turn.e2e_latency)
            if turn.llm_ttft is not None:
                m.llm_ttft.labels(d).observe(turn.llm_ttft)
            if turn.tts_ttfb is not None:
                m.tts_ttfb.labels(d).observe(turn.tts_ttfb)

    def _count_write(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.record_writes.labels(result).inc()
