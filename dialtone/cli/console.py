"""`dialtone console`: talk to the receptionist from this terminal.

Owned by dialtone (livekit-agents' own console mode is deprecated): the agent program,
its tools and the profile's pipeline are the ones a real call gets; a sound card or the
keyboard stands in for the SIP caller, so there are no transfers.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import typer

from ..config import ConfigError, load_settings

TEXT_HINT = "text mode (type what the caller says)"


def console(
    text: Annotated[
        bool, typer.Option("--text", help="Type the caller's words; no microphone or speaker.")
    ] = False,
    wideband: Annotated[
        bool,
        typer.Option(
            "--wideband", help="Hear the raw 16 kHz voice instead of the 8 kHz phone line."
        ),
    ] = False,
    persona: Annotated[
        str | None, typer.Option(help="Persona to answer as (default: the default persona).")
    ] = None,
    caller: Annotated[str, typer.Option(help="The caller's number in the call record.")] = (
        "+15551230000"
    ),
    dialed: Annotated[
        str | None, typer.Option(help="The number dialed (picks the persona that owns it).")
    ] = None,
) -> None:
    """Talk to the receptionist: microphone and speaker, else text.

    Audio mode hears the agent through an 8 kHz phone line by default. Without a sound
    device (or with --text) you type the caller's lines and read the agent's replies,
    tool calls and per-turn latency. The console ends when the agent hangs up
    (end_call), at Ctrl-C, or at end of input (Ctrl-D); the call record is written
    either way (`dialtone calls list`).
    """
    from ..console.call import ConsoleOptions, run_console
    from ..console.devices import AudioDevice, NoSoundDevice, open_sound_card
    from ..console.interrupts import ctrl_c_event, shield_helpers_from_ctrl_c
    from ..console.lines import StdinLines

    shield_helpers_from_ctrl_c()

    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    device: AudioDevice | None = None
    if not text:
        try:
            device = open_sound_card()
        except NoSoundDevice as exc:
            typer.secho(f"{exc}: {TEXT_HINT}", fg=typer.colors.YELLOW, err=True)
    if device is None:
        typer.echo("Type what the caller says; Ctrl-D or Ctrl-C hangs up.", err=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = ConsoleOptions(
        persona=persona, caller_number=caller, dialed_number=dialed, wideband=wideband
    )

    async def main() -> None:
        lines = StdinLines(sys.stdin) if device is None else None
        await run_console(
            settings,
            options=options,
            out=sys.stdout,
            lines=lines,
            device=device,
            stop=ctrl_c_event(),
        )

    try:
        asyncio.run(main())
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
