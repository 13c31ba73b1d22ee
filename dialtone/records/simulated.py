"""Call records for simulated calls (`dialtone simulate`): the same recorder as a real
call, writing to the simulation's own database (the `--out` directory, or a scratch one),
never to the production store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..db.engine import make_engine, sqlite_url
from ..db.upgrade import upgrade
from ..telephony.caller import CallerInfo
from .models import Direction, HangupBy
from .recorder import CallRecorder
from .store import CallStart, RecordStore

#: Builds the recorder of a simulated call (tests pass one to read the record back).
RecordFactory = Callable[[CallStart], CallRecorder]


def default_factory(data_dir: Path) -> RecordFactory:
    def make(start: CallStart) -> CallRecorder:
        engine = make_engine(sqlite_url(data_dir))
        upgrade(engine)
        return CallRecorder(RecordStore(engine), start)

    return make


async def start_simulated_record(
    factory: RecordFactory | None, data_dir: Path, *, room: str, caller: CallerInfo, persona: str
) -> CallRecorder:
    recorder = (factory or default_factory(data_dir))(
        CallStart(
            Direction.INBOUND,
            room=room,
            sip_call_id=caller.call_id,
            caller_number=caller.phone_number,
            called_number=caller.dialed_number,
            trunk="simulated",
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
