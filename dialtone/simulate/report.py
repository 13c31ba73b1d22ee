"""The report of a simulated call: transcript, tools, latency, barge-in, verdict."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from .scenario import Expect


@dataclass
class Line:
    at: float
    speaker: str  # "caller" | "agent" | "heard"
    text: str


@dataclass
class ToolCall:
    at: float
    name: str
    arguments: dict[str, Any]


@dataclass
class Turn:
    """One caller line and how fast the agent's audio answered it."""

    turn: int
    caller_text: str
    speech_end: float
    latency_ms: float | None


@dataclass
class BargeIn:
    at: float
    reaction_ms: float | None  # caller speech onset → agent audio stopped; None: not stopped


@dataclass
class CallReport:
    scenario: str
    persona: str
    profile: str
    duration_s: float = 0.0
    transcript: list[Line] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    caller_turns_heard: int = 0
    barge_ins: list[BargeIn] = field(default_factory=list)
    false_interruptions_resumed: int = 0
    hung_up: bool = False
    hang_up_reason: str | None = None
    left_call: bool = False
    max_agent_gap_s: float | None = None
    #: Outcomes of the call's transfers, in order (TransferOutcome values), with SIP status.
    transfers: list[dict[str, Any]] = field(default_factory=list)
    recording: str | None = None
    #: A reminder call's reported outcome and its detail (campaign `Outcome` value).
    outcome: str | None = None
    outcome_detail: str | None = None
    #: A reminder call: who answered first, and seconds from their first speech to knowing.
    answer: str | None = None
    answer_decided_s: float | None = None
    #: Keys the agent sent into a phone menu, in order.
    keys_sent: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def latency_summary(self) -> dict[str, float | None]:
        values = sorted(t.latency_ms for t in self.turns if t.latency_ms is not None)
        if not values:
            return {"median_ms": None, "p95_ms": None, "max_ms": None}
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        return {"median_ms": statistics.median(values), "p95_ms": p95, "max_ms": values[-1]}

    def check(self, expect: Expect) -> None:
        """Append a failure for every expectation the call did not meet."""
        agent_text = " ".join(
            line.text.lower() for line in self.transcript if line.speaker == "agent"
        )
        for phrase in expect.phrases:
            if phrase.lower() not in agent_text:
                self.failures.append(f"the agent never said {phrase!r}")
        called = [call.name for call in self.tool_calls]
        for name in expect.tool_calls:
            if name not in called:
                self.failures.append(f"tool {name!r} was not called (called: {called or 'none'})")
        if expect.hang_up is not None and expect.hang_up != self.hung_up:
            self.failures.append(
                "the agent did not hang up" if expect.hang_up else "the call was hung up"
            )
        if expect.caller_turns is not None and expect.caller_turns != self.caller_turns_heard:
            self.failures.append(
                f"the agent heard {self.caller_turns_heard} caller turns, "
                f"expected {expect.caller_turns}"
            )
        if expect.max_barge_in_ms is not None:
            if not self.barge_ins:
                self.failures.append("no barge-in happened while the agent was speaking")
            for barge in self.barge_ins:
                if barge.reaction_ms is None or barge.reaction_ms > expect.max_barge_in_ms:
                    self.failures.append(
                        f"agent audio did not stop within {expect.max_barge_in_ms:.0f} ms of "
                        f"the caller talking over it at {barge.at:.1f}s "
                        f"(reaction: {barge.reaction_ms})"
                    )
        if expect.left_call is not None and expect.left_call != self.left_call:
            self.failures.append(
                "the agent did not hand the call over"
                if expect.left_call
                else "the agent left the call"
            )
        if expect.transfer_outcome is not None:
            last = self.transfers[-1]["outcome"] if self.transfers else None
            if last != expect.transfer_outcome:
                self.failures.append(
                    f"transfer ended {last or 'never started'}, expected {expect.transfer_outcome}"
                )
        self.failures.extend(privacy_failures(self.transfers, expect))
        if expect.outcome is not None and expect.outcome != self.outcome:
            self.failures.append(
                f"the reminder call ended {self.outcome or 'without an outcome'}, "
                f"expected {expect.outcome}"
            )
        if (
            expect.outcome_detail is not None
            and expect.outcome_detail.lower() not in (self.outcome_detail or "").lower()
        ):
            self.failures.append(
                f"the outcome detail {self.outcome_detail!r} lacks {expect.outcome_detail!r}"
            )
        if expect.answer is not None and expect.answer != self.answer:
            self.failures.append(
                f"answered by {self.answer or 'nobody decided'}, expected {expect.answer}"
            )
        if expect.keys is not None and expect.keys != " ".join(self.keys_sent):
            self.failures.append(
                f"keys sent: {' '.join(self.keys_sent) or 'none'}, expected {expect.keys}"
            )
        for phrase in expect.never_says:
            if phrase.lower() in agent_text:
                self.failures.append(f"the agent said {phrase!r}, which it must never say here")
        if expect.max_agent_gap_s is not None and (
            self.max_agent_gap_s is None or self.max_agent_gap_s > expect.max_agent_gap_s
        ):
            self.failures.append(
                f"silence of {self.max_agent_gap_s}s in the agent channel "
                f"(allowed {expect.max_agent_gap_s}s)"
            )
        if expect.false_interruption_resumed is not None:
            resumed = self.false_interruptions_resumed > 0
            if resumed != expect.false_interruption_resumed:
                self.failures.append(
                    "the agent did not resume after a false interruption"
                    if expect.false_interruption_resumed
                    else "the agent resumed after an interruption"
                )

    def to_json(self) -> str:
        data = asdict(self)
        data["passed"] = self.passed
        data["latency"] = self.latency_summary()
        return json.dumps(data, indent=2)

    def to_text(self) -> str:
        out = [f"Simulated call {self.scenario!r}: persona {self.persona}, profile {self.profile}"]
        for line in sorted(self.transcript, key=lambda item: item.at):
            label = {"caller": "caller", "agent": "agent ", "heard": "  (agent heard)"}[
                line.speaker
            ]
            out.append(f"  {line.at:6.1f}s  {label}  {line.text}")
        out.append("")
        for call in self.tool_calls:
            args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
            out.append(f"  tool    {call.at:6.1f}s  {call.name}({args})")
        for turn in self.turns:
            value = "no reply" if turn.latency_ms is None else f"{turn.latency_ms:.0f} ms"
            out.append(f"  turn {turn.turn}: {value}  ({turn.caller_text})")
        summary = self.latency_summary()
        if summary["median_ms"] is not None:
            out.append(
                f"  latency (end of caller speech -> first agent audio): median "
                f"{summary['median_ms']:.0f} ms, p95 {summary['p95_ms']:.0f} ms"
            )
        for barge in self.barge_ins:
            value = (
                "agent kept talking" if barge.reaction_ms is None else f"{barge.reaction_ms:.0f} ms"
            )
            out.append(f"  barge-in at {barge.at:.1f}s: agent audio stopped after {value}")
        for transfer in self.transfers:
            sip = transfer.get("sip_status_code")
            out.append(
                f"  transfer to {transfer['target']}: {transfer['outcome']} "
                f"({transfer['mechanism']}{f', SIP {sip}' if sip else ''})"
            )
            if "brief_to_human_ms" in transfer:
                level = transfer["brief_to_caller_dbfs"]
                out.append(
                    f"    human heard the brief {transfer['brief_to_human_ms']:.0f} ms; "
                    f"caller heard {'nothing' if level is None else f'{level} dBFS'} "
                    "besides hold audio during it; caller heard the human "
                    f"{transfer['human_to_caller_before_accept_ms']:.0f} ms before acceptance"
                )
        if self.max_agent_gap_s is not None:
            out.append(
                f"  longest silence in the agent channel after the caller: "
                f"{self.max_agent_gap_s:.2f}s"
            )
        if self.left_call:
            out.append("  the agent left the call to a human")
        if self.false_interruptions_resumed:
            out.append(f"  false interruptions resumed: {self.false_interruptions_resumed}")
        if self.outcome is not None:
            out.append(f"  reminder outcome: {self.outcome} ({self.outcome_detail})")
        if self.answer is not None:
            took = "" if self.answer_decided_s is None else f", {self.answer_decided_s:.2f}s"
            out.append(f"  answered by: {self.answer} (after first speech{took})")
        if self.keys_sent:
            out.append(f"  keys sent into the menu: {' '.join(self.keys_sent)}")
        ended = f"hung up by the agent ({self.hang_up_reason})" if self.hung_up else "not hung up"
        out.append(f"  call: {self.duration_s:.1f}s, {ended}")
        if self.recording:
            out.append(f"  recording: {self.recording} (caller left, agent right)")
        out.append("  result: PASS" if self.passed else "  result: FAIL")
        out.extend(f"    - {failure}" for failure in self.failures)
        return "\n".join(out)


def privacy_failures(transfers: list[dict[str, Any]], expect: Expect) -> list[str]:
    """What the last transfer's ears show against the scenario's privacy expectations."""
    wanted = (
        expect.brief_reached_human,
        expect.max_brief_to_caller_dbfs,
        expect.max_human_to_caller_before_accept_ms,
        expect.max_caller_to_human_before_accept_ms,
        expect.max_human_keys_to_caller,
    )
    if all(value is None for value in wanted):
        return []
    if not transfers:
        return ["no transfer happened, so nothing was measured"]
    last = transfers[-1]
    failures: list[str] = []
    reached = last.get("brief_to_human_ms", 0) > 0
    if expect.brief_reached_human is not None and reached != expect.brief_reached_human:
        failures.append(
            "the human never heard the brief"
            if expect.brief_reached_human
            else f"the human heard a brief ({last['brief_to_human_ms']:.0f} ms)"
        )
    level = last.get("brief_to_caller_dbfs")
    limit = expect.max_brief_to_caller_dbfs
    if limit is not None and level is not None and level > limit:
        failures.append(f"the caller heard {level} dBFS during the brief (allowed {limit})")
    heard = last.get("human_to_caller_before_accept_ms", 0.0)
    allowed = expect.max_human_to_caller_before_accept_ms
    if allowed is not None and heard > allowed:
        failures.append(
            f"the caller heard the human for {heard:.0f} ms before acceptance (allowed {allowed})"
        )
    back = last.get("caller_to_human_before_accept_ms", 0.0)
    limit_back = expect.max_caller_to_human_before_accept_ms
    if limit_back is not None and back > limit_back:
        failures.append(
            f"the human heard the caller for {back:.0f} ms before accepting (allowed {limit_back})"
        )
    keys = last.get("human_keys_to_caller", 0)
    if expect.max_human_keys_to_caller is not None and keys > expect.max_human_keys_to_caller:
        failures.append(f"{keys} of the human's key presses were played to the caller")
    return failures
