"""Call records for calls with no SIP leg (`dialtone simulate`, `dialtone console`): the
same recorder as a real call, writing to the same database as everything else
(`DIALTONE_DATABASE_URL`, else the SQLite file under `DIALTONE_DATA_DIR`), so
`dialtone calls list` shows them beside real calls; the `trunk` column tells them apart
("simulated", "console")."""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..telephony.caller import CallerInfo
from .job import records_store
from .models import Direction, HangupBy
from .recorder import CallRecorder
from .store import CallStart

#: Builds the recorder of a simulated call (tests pass one to read the record back).
RecordFactory = Callable[[CallStart], CallRecorder]


def default_factory(settings: Settings) -> RecordFactory:
    def make(start: CallStart) -> CallRecorder:
        return CallRecorder(records_store(settings), start)

    return make


async def start_simulated_record(
    factory: RecordFactory | None,
    settings: Settings,
    *,
    room: str,
    caller: CallerInfo,
    persona: str,
    trunk: str = "simulated",
) -> CallRecorder:
    recorder = (factory or default_factory(settings))(
        CallStart(
            Direction.INBOUND,
            room=room,
            sip_call_id=caller.call_id,
            caller_number=caller.phone_number,
            called_number=caller.dialed_number,
            trunk=trunk,
            persona=persona,
        )
    )
    await recorder.start()
    return recorder


def note_simulated_end(recorder: CallRecorder, agent_hang_up_reason: str | None) -> None:
    """The agent hung up (`end_call`), or the caller's script ended: the caller did."""
    if agent_hang_up_reason is not None:
        recorder.hung_up(HangupBy.AGENT, agent_hang_up_reason)
    else:
        recorder.hung_up(HangupBy.CALLER, "the caller's script ended")
