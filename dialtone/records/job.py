"""Recording a call that runs in a livekit-agents job: one call for the worker and the
reminder agent.

`record_job_call` opens the record, listens to the session and the room, and finishes
the record when the job shuts down (`ctx.add_shutdown_callback`), which livekit-agents
runs however the call ends: hang-up, room deleted, error. Only a killed process skips
it, and then the record's lease runs out and the reaper closes it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from livekit.agents import AgentSession, JobContext, RecordingOptions
from livekit.protocol import agent

from ..config import Settings
from ..db.engine import make_engine
from ..db.upgrade import upgrade
from .audio import keep_recording, prune_recordings
from .metrics import default_metrics
from .recorder import LEASE, CallRecorder, TurnSource, utc_now
from .retention import Keep, Retention
from .store import CallStart, RecordStore

logger = logging.getLogger("dialtone.records")

_stores: dict[str, RecordStore] = {}
_lock = threading.Lock()


def worker_metrics_dir(settings: Settings) -> Path:
    """Where job processes write their metrics (`DIALTONE_METRICS_DIR`)."""
    return settings.metrics_dir or settings.data_dir / "prometheus"


def retention_of(settings: Settings) -> Retention:
    return Retention(Keep(settings.record_numbers), Keep(settings.record_transcripts))


def records_store(settings: Settings) -> RecordStore:
    """This process's record store for the settings' database (upgraded once)."""
    url = settings.resolved_database_url
    with _lock:
        store = _stores.get(url)
        if store is None:
            engine = make_engine(url)
            upgrade(engine)
            store = RecordStore(engine, retention_of(settings))
            _stores[url] = store
        return store


def close_expired_records(store: RecordStore) -> int:
    """Close records whose agent died (lease ran out) and count them; returns how many."""
    metrics = default_metrics()
    closed = store.close_expired(utc_now())
    for record in closed:
        metrics.call_closed(record)
        logger.warning(
            "closed a call record whose agent stopped renewing it",
            extra={"record_id": record.id, "room": record.room, "outcome": record.outcome},
        )
    return len(closed)


async def record_job_call(
    ctx: JobContext,
    session: AgentSession,
    start: CallStart,
    *,
    settings: Settings,
    participant_identity: str | None = None,
    turns: TurnSource | None = None,
    lease: timedelta | None = None,
) -> CallRecorder:
    """Start recording this job's call; the record is finished at job shutdown.

    Inbound: call `recorder.answered()` once the agent has picked up. Outbound: wrap the
    dial in `recorder.dial(...)`. The database being down never stops the call.
    """
    store: RecordStore | None
    try:
        store = await asyncio.to_thread(records_store, settings)
    except Exception:
        logger.exception("the call record store is unavailable; recording metrics only")
        store = None
    recorder = CallRecorder(
        store,
        start,
        metrics=default_metrics(),
        lease=lease or LEASE,
    )
    await recorder.start()
    recorder.attach(session, turns)
    if participant_identity is not None:
        recorder.attach_room(ctx.room, participant_identity)

    async def _finish(reason: str) -> None:
        await recorder.finish(reason)

    ctx.add_shutdown_callback(_finish)
    if store is not None:
        reaper = asyncio.create_task(asyncio.to_thread(close_expired_records, store))
        reaper.add_done_callback(_log_reaper_failure)
    return recorder


def _log_reaper_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("closing expired call records failed", exc_info=task.exception())


#: `AgentSession.start(record=...)` for a recorded call: the in-agent recorder's stereo
#: audio (caller left, agent right) and nothing else. On LiveKit Cloud the framework
#: also uploads that audio to the project's Agent Observability.
AUDIO_ONLY: RecordingOptions = {"audio": True, "traces": False, "logs": False, "transcript": False}

#: Said once per call when a recorded persona cannot record (see `audio_only_refused`).
REDACTION_REFUSES_AUDIO_ONLY = (
    "call not recorded: this LiveKit Cloud project redacts transcripts, and livekit-agents "
    "1.8.9 refuses to record audio without uploading transcripts there (dialtone records "
    "audio only); turn transcript redaction off for the project to record calls"
)


def audio_only_refused(job: agent.Job) -> str | None:
    """Why `session.start(record=AUDIO_ONLY)` would fail for this job (None: it would not).

    livekit-agents 1.8.9 (`JobContext.init_recording`) raises ValueError when the job
    has redaction on (`Job.enable_redaction`, set by a LiveKit Cloud project that redacts
    transcripts) and audio is recorded without transcripts. Starting anyway would fail
    the whole call at `session.start`; the entrypoints start it unrecorded instead.
    """
    return REDACTION_REFUSES_AUDIO_ONLY if job.enable_redaction else None


def keep_job_recording(
    ctx: JobContext,
    session: AgentSession,
    record_id: Callable[[], str | None],
    settings: Settings,
) -> None:
    """At job shutdown, store the session's recording as the call record `record_id()`.

    The id is asked for at shutdown: an outbound call's record opens only at the dial.

    The in-agent recorder writes Ogg Opus into the job's temporary session folder and
    finishes it when the session closes; the file is copied out before livekit-agents
    deletes that folder. Recordings past their retention go at the same time.
    """

    async def _keep(_reason: str) -> None:
        await session.aclose()  # flushes the recorder; a closed session ignores it
        try:
            path = ctx.make_session_report(session).audio_recording_path
        except RuntimeError:
            logger.warning("the call's recorder did not finish; no recording kept")
            return
        if path is None:
            logger.warning("the session recorded no audio; no recording kept")
            return
        await asyncio.to_thread(keep_recording, settings, record_id(), Path(path))
        await asyncio.to_thread(_prune, settings)

    ctx.add_shutdown_callback(_keep)


def _prune(settings: Settings) -> None:
    try:
        prune_recordings(settings)
    except Exception:
        logger.exception("deleting recordings past their retention failed")
