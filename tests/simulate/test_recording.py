"""The simulated call's recording keeps audio only when someone will read it."""

from __future__ import annotations

import numpy as np

from dialtone.simulate.recording import RECORDING_RATE, Recording

SECOND = np.full(8000, 1000, dtype=np.int16)


def test_a_kept_recording_holds_the_audio_at_its_call_time() -> None:
    recording = Recording()
    recording.caller.write(0.5, SECOND, 8000)
    assert recording.caller.end == round(1.5 * RECORDING_RATE)


def test_an_unrecorded_call_keeps_no_audio() -> None:
    # Every 20 ms frame of a call nobody records used to stay in memory until it ended.
    recording = Recording(keep=False)
    for index in range(50):
        recording.caller.write(index * 0.02, SECOND[:160], 8000)
        recording.agent.write(index * 0.02, SECOND[:320], 16000)
    assert recording.caller.end == 0 and recording.agent.end == 0
