"""A recorded persona on a LiveKit Cloud project that redacts transcripts.

livekit-agents 1.8.9 refuses audio-only recording when the job has redaction on; the
first test pins that behaviour of the installed library (if an upgrade drops it, it
fails and the workaround can go), the second that dialtone sees it coming.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from livekit.agents import JobContext
from livekit.protocol import agent

from dialtone.records.job import AUDIO_ONLY, audio_only_refused


def test_livekit_agents_refuses_audio_only_recording_under_redaction() -> None:
    job = SimpleNamespace(job=agent.Job(enable_redaction=True))
    with pytest.raises(ValueError, match="requires transcript upload when redaction"):
        JobContext.init_recording(job, AUDIO_ONLY)  # type: ignore[arg-type]


def test_dialtone_says_why_in_one_line() -> None:
    reason = audio_only_refused(agent.Job(enable_redaction=True))
    assert reason is not None and "\n" not in reason
    assert "redacts transcripts" in reason and "not recorded" in reason
    assert audio_only_refused(agent.Job(enable_redaction=False)) is None
