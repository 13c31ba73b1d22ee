"""What every call's process would otherwise set up first, done once in the forkserver.

livekit-agents forks each job process from a forkserver that imports a list of modules
first (`dialtone.worker.JOB_MODULES`); its only hook is that import, so importing this
module is the warm-up. It reads the settings and the persona folder, as each call still
does when it starts: a child then starts with pydantic-settings' and the YAML loader's
one-off set-up done and every persona parsed (a call re-reads the files and parses only
one whose bytes changed, `dialtone.personas`, so an edit still answers the next call).
Measured in forked children (bench/call_capacity.py's production shape): a call's
start-up CPU about 41 ms without it, 25 ms with it, bare livekit-agents' 15 ms.

Nothing here may stop the forkserver: a problem is left for the call to report
(settings were checked when the worker started; a persona broken since is the call's
error to log).
"""

from __future__ import annotations

from .config import load_settings
from .personas import PersonaBook


def warm() -> bool:
    """Read the settings and the persona folder; False when either could not be read."""
    try:
        settings = load_settings()
        PersonaBook.load(settings.persona_dir, settings.default_persona)
    except Exception:  # the forkserver must start whatever the files say
        return False
    return True


warm()
