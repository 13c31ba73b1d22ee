"""What every call's process would otherwise set up first, done once in the forkserver.

livekit-agents forks each job process from a forkserver that imports a list of modules
first (`dialtone.worker.JOB_MODULES`); its only hook is that import, so importing this
module is the warm-up. It reads the settings and the persona folder, as each call still
does when it starts: a child then starts with pydantic-settings' and the YAML loader's
one-off set-up done and every persona parsed (a call re-reads the files and parses only
one whose bytes changed, `dialtone.personas`, so an edit still answers the next call).
It also does the libraries' own first-use set-up that every call's start paid
(`warm_libraries`). Measured in children forked as the forkserver forks them, a call's
start-up CPU (bench/call_capacity.py's production shape, up to the session started):
41 ms without the settings and personas read here, 25 ms with them (bare livekit-agents
15 ms); then, on a busier machine, 44 ms without the libraries' set-up and 36 ms with
it (bare 24 ms).

Nothing here may stop the forkserver: a problem is left for the call to report
(settings were checked when the worker started; a persona broken since is the call's
error to log).
"""

from __future__ import annotations

from livekit.agents import llm
from sqlalchemy import create_engine

from .config import load_settings
from .personas import PersonaBook


def warm() -> bool:
    """Read the settings and the persona folder; False when either could not be read."""
    warm_libraries()
    try:
        settings = load_settings()
        PersonaBook.load(settings.persona_dir, settings.default_persona)
    except Exception:  # the forkserver must start whatever the files say
        return False
    return True


def warm_libraries() -> None:
    """The libraries' own first-use set-up that every call's start paid in its process.

    livekit-agents' chat messages are pydantic models completed on first use (5 ms at
    the session's start, when it writes the agent's instructions), and SQLAlchemy
    loads its SQLite dialect with the first engine (the call record's and the message
    store's). An in-memory engine opens no file and no connection before it is used,
    so nothing of it is shared with the forked processes but the loaded code.
    """
    llm.ChatContext.empty().add_message(role="system", content="warm-up")
    create_engine("sqlite://").dispose()


warm()
