"""What each side of a transfer heard: the three privacy figures of the report.

Read from the listeners' ears in `rooms.py` after the call, per consult:

- `brief_to_human_ms`: how long the human heard the brief;
- `brief_to_caller_dbfs`: the loudest audio other than hold audio that reached the
  caller while the brief played (None: nothing but hold audio, or silence);
- `human_to_caller_before_accept_ms`: how long the caller heard the human's leg before
  the human accepted (over the whole attempt when they never did);
- `caller_to_human_before_accept_ms`: the other way round (a caller talking on hold);
- `human_keys_to_caller`: keys the human pressed that were played on the caller's leg.
"""

from __future__ import annotations

from dataclasses import dataclass

from .consult import ConsultNotes
from .rooms import Heard, SimulatedRooms


@dataclass(frozen=True)
class Privacy:
    brief_to_human_ms: float
    brief_to_caller_dbfs: float | None
    human_to_caller_before_accept_ms: float
    caller_to_human_before_accept_ms: float
    human_keys_to_caller: int

    def as_report(self) -> dict[str, float | int | None]:
        return {
            "brief_to_human_ms": self.brief_to_human_ms,
            "brief_to_caller_dbfs": self.brief_to_caller_dbfs,
            "human_to_caller_before_accept_ms": self.human_to_caller_before_accept_ms,
            "caller_to_human_before_accept_ms": self.caller_to_human_before_accept_ms,
            "human_keys_to_caller": self.human_keys_to_caller,
        }


def _overlaps(heard: Heard, start: float, end: float) -> bool:
    return heard.at < end and heard.at + heard.seconds > start


def measure(notes: ConsultNotes, rooms: SimulatedRooms, caller: str) -> Privacy:
    """The privacy figures of one consult, from what the caller's and human's ears hold."""
    caller_ear = rooms.ears.get(caller, [])
    human = notes.human
    human_ear = rooms.ears.get(human, []) if human is not None else []
    brief_ms = sum(h.seconds for h in human_ear if h.kind == "brief") * 1000
    loudest: float | None = None
    if notes.brief_start is not None:
        end = notes.brief_end if notes.brief_end is not None else float("inf")
        levels = [
            h.peak_dbfs
            for h in caller_ear
            if h.kind != "hold" and _overlaps(h, notes.brief_start, end)
        ]
        known = [level for level in levels if level is not None]
        loudest = max(known) if known else None
    accepted = notes.accepted_at if notes.accepted_at is not None else float("inf")

    def before_accept(ear: list[Heard], speaker: str | None) -> float:
        seconds = sum(
            min(h.seconds, max(0.0, accepted - h.at))
            for h in ear
            if speaker is not None and h.speaker == speaker and h.peak > 0
        )
        return round(seconds * 1000, 1)

    keys = len(rooms.keys.get(caller, []))
    return Privacy(
        round(brief_ms, 1),
        loudest,
        before_accept(caller_ear, human),
        before_accept(human_ear, caller),
        keys,
    )
