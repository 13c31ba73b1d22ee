"""Scenario files: what the simulated caller says and when, and what must happen.

A step is one caller action. `say` speaks a line (a list of parts is one sentence with
`pause` seconds between parts: the "Yes, ... I can make it on Tuesday" case); `when`
chooses the moment: `after_agent` waits until the agent has answered and gone quiet,
`during_agent` talks over the agent `offset` seconds after its next reply starts
(barge-in), `now` speaks at once. `silence` holds the line quiet; `hang_up: true`
ends the call from the far end. `expect` lists what
the call must show for the scenario to pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ..yamlfile import load_yaml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Caller(_Strict):
    number: str = "+15551230000"
    dialed: str | None = None
    # en-us+f2 at 0.85 was the espeak voice pocketsphinx understood best on phone-band
    # audio (96 % of the persona's phrases classified right; bench/offline_asr.py).
    voice: str = "en-us+f2"
    speed: Annotated[float, Field(gt=0.5, le=2.0)] = 0.85


class Step(_Strict):
    say: str | list[str] | None = None
    #: The far end hangs up here (a screener declining the call, say).
    hang_up: bool = False
    pause: Annotated[float, Field(ge=0, le=5)] = 0.45
    silence: Annotated[float, Field(gt=0, le=60)] | None = None
    when: Literal["after_agent", "during_agent", "now"] = "after_agent"
    offset: Annotated[float, Field(ge=0, le=30)] = 1.0
    gap: Annotated[float, Field(ge=0, le=10)] = 0.4

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        if sum((self.say is not None, self.silence is not None, self.hang_up)) != 1:
            raise ValueError("a step has exactly one of say, silence or hang_up")
        return self

    @property
    def parts(self) -> list[str]:
        if self.say is None:
            return []
        return [self.say] if isinstance(self.say, str) else list(self.say)


class Human(_Strict):
    """The far end of a transfer in a simulated call (see `dialtone/simulate/far_end.py`).

    `answer`: "person" picks up, "voicemail" has a machine pick up, None never answers
    (the ringing timeout ends it). `sip_status_code` makes the call fail after ringing
    (486 busy, 603 declined, ...); `refer_sip_status_code` makes the carrier refuse a cold
    transfer's REFER (403/603), so the desk falls back to the bridge. After the brief a
    person answers with `reply` (e.g. "no, I can't take it") and may press `key` (1 puts
    the caller through, 2 declines).
    """

    answer: Literal["person", "voicemail"] | None = "person"
    answer_after_s: Annotated[float, Field(ge=0, le=60)] = 3.0
    sip_status_code: Annotated[int, Field(ge=300, le=699)] | None = None
    sip_status: str = ""
    refer_sip_status_code: Annotated[int, Field(ge=300, le=699)] | None = None
    reply: str = "yes, put them through"
    key: Annotated[str, Field(pattern=r"^[0-9*#]$")] | None = None


class MenuNode(_Strict):
    """A simulated phone menu: what it says, and where each key leads (`menu_far_end.py`).

    A node without keys is the end of the walk: a person ("front desk, this is Ann"),
    or a mailbox greeting with `beep: true`. A key the node does not know makes it say
    "that is not a valid choice" and repeat itself, as menus do.
    """

    say: str
    keys: dict[str, MenuNode] = Field(default_factory=dict)
    beep: bool = False


class ReminderSide(_Strict):
    """An outbound reminder call (`agents/reminder.py`): the scenario's caller is the callee.

    The callee's first step answers (`when: now`): a person's "hello", or a voicemail
    greeting; `beep_after_step` plays a mailbox beep (1 kHz, 0.5 s) after that step.
    `name` and `variables` are the contact's, as a campaign would send them.
    """

    name: str = "Jane"
    variables: dict[str, str | int | float | bool] = Field(default_factory=dict)
    beep_after_step: Annotated[int, Field(ge=1)] | None = None
    #: A phone menu answers first; the agent's keys move through it. The steps are
    #: then what the person at the end says (each after the agent has spoken).
    menu: MenuNode | None = None


class Expect(_Strict):
    phrases: list[str] = Field(default_factory=list)
    tool_calls: list[str] = Field(default_factory=list)
    hang_up: bool | None = None
    caller_turns: int | None = None
    max_barge_in_ms: float | None = None
    false_interruption_resumed: bool | None = None
    #: The outcome of the call's (last) transfer, e.g. "completed", "busy", "after_hours".
    transfer_outcome: str | None = None
    #: True: the agent left the call to a human (a completed transfer); False: it stayed.
    left_call: bool | None = None
    #: The longest silence allowed in the agent channel from its first sound after the
    #: caller's last line to its last sound (e.g. hold audio during a transfer).
    max_agent_gap_s: Annotated[float, Field(gt=0, le=30)] | None = None
    #: A reminder call's reported outcome (campaign `Outcome` value), e.g. "voicemail".
    outcome: str | None = None
    #: Words the reported outcome's detail must contain, e.g. "screened".
    outcome_detail: str | None = None
    #: Who a reminder call decided answered first: human, voicemail, screening, ivr, unsure.
    answer: Literal["human", "voicemail", "screening", "ivr", "unsure"] | None = None
    #: The keys the agent sent into a phone menu, space-separated ("1 3").
    keys: str | None = None
    #: Phrases the agent must never say (e.g. the voicemail message into a screener).
    never_says: list[str] = Field(default_factory=list)
    #: The last transfer's privacy, from what each ear heard (`rooms.py`): whether the
    #: brief reached the human; the loudest non-hold audio the caller heard while the
    #: brief played (dBFS; silence passes); how long the caller heard the human before
    #: the human accepted.
    brief_reached_human: bool | None = None
    max_brief_to_caller_dbfs: Annotated[float, Field(le=0)] | None = None
    max_human_to_caller_before_accept_ms: Annotated[float, Field(ge=0)] | None = None
    #: How long the human may hear the caller before accepting (a caller talking on hold).
    max_caller_to_human_before_accept_ms: Annotated[float, Field(ge=0)] | None = None
    #: Keys the human pressed that the caller's leg was played (a privacy leak).
    max_human_keys_to_caller: Annotated[int, Field(ge=0)] | None = None


class Scenario(_Strict):
    name: str
    persona: str | None = None
    caller: Caller = Caller()
    steps: list[Step] = Field(min_length=1)
    expect: Expect = Expect()
    #: The human's phone, for transfers (personas with transfer targets).
    human: Human = Human()
    #: Set for an outbound reminder call instead of an inbound call to the receptionist.
    reminder: ReminderSide | None = None
    #: When the call happens (time zone required), for transfer hours; default: now.
    at: AwareDatetime | None = None
    agent_reply_timeout: Annotated[float, Field(gt=0, le=120)] = 25.0
    max_duration: Annotated[float, Field(gt=0, le=900)] = 180.0


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario; errors name the file and the field."""
    return load_yaml_model(path, Scenario, defaults={"name": path.stem})
