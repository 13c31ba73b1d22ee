"""Through a phone menu: which key leads to the target, and when to give up."""

from __future__ import annotations

from dialtone.campaigns.models import Outcome
from dialtone.outbound.answering import AnswerClass, Verdict
from dialtone.outbound.attempt import after_answer
from dialtone.outbound.conversation import AnswerHooks
from dialtone.outbound.ivr import MenuNavigator, choose_key, menu_options

from .test_screening import FakeAgent

CARE_HOME = (
    "thank you for calling sunrise care home. for billing press two. for the front desk press one."
)


def test_options_both_ways_round() -> None:
    assert menu_options(CARE_HOME) == {"billing": "2", "the front desk": "1"}
    assert menu_options("press three for the nursing station") == {"the nursing station": "3"}
    # without punctuation both readings exist; "for X press N" is the one menus use
    assert menu_options("for billing press two for the front desk press one") == {
        "billing": "2",
        "the front desk": "1",
    }


def test_the_best_matching_option_not_the_first_heard() -> None:
    assert choose_key(CARE_HOME, "the front desk") == "1"
    assert choose_key(CARE_HOME, "billing office") == "2"


def test_an_extension_goes_where_the_menu_takes_extensions() -> None:
    menu = "if you know your party's extension you may dial it at any time"
    assert choose_key(menu, "214") == "214"
    assert choose_key("for billing press two", "214") is None  # no place for digits


def test_the_operator_when_nothing_matches() -> None:
    menu = "for appointments press one. for all other calls press zero."
    assert choose_key(menu, "the front desk") == "0"
    # a language menu leads on to the real one: English, when nothing else fits
    assert choose_key("for english press one. para espanol oprima dos.", "the front desk") == "1"
    assert choose_key("for english press one. for the front desk press two.", "front desk") == "2"
    assert (
        choose_key("for billing press two. for the pharmacy press five.", "the front desk") is None
    )


def test_a_menu_that_keeps_coming_back_is_a_loop() -> None:
    navigator = MenuNavigator(target="the front desk")
    assert navigator.next_keys(CARE_HOME) == "1"
    assert navigator.next_keys(CARE_HOME) == "1"  # once more: "not a valid choice" happens
    assert navigator.next_keys(CARE_HOME) is None
    assert navigator.why == "the same menu came back 3 times (keys 1 1)"


def test_key_presses_are_bounded() -> None:
    navigator = MenuNavigator(target="the front desk", max_keys=2)
    assert navigator.next_keys("for the front desk press one") == "1"
    assert navigator.next_keys("for front desk staff press two") == "2"
    assert navigator.next_keys("for the front desk team press three") is None
    assert navigator.why == "still in the menu after 2 keys (1 2)"


class MenuLine:
    """A menu's far end for `after_answer`: each key leads to the next verdict."""

    def __init__(self, agent: FakeAgent, after_keys: list[Verdict], menus: list[str]) -> None:
        self.agent = agent
        self.after_keys = after_keys
        self.menus = menus
        self.keys: list[str] = []

    def hooks(self) -> AnswerHooks:
        async def beep() -> bool:
            self.agent.did.append("beep")
            return True

        async def conversation() -> None:
            self.agent.did.append("conversation")

        async def listen() -> Verdict:
            return self.after_keys.pop(0)

        async def quiet() -> None:
            return None

        async def menu(again: bool) -> str:
            return self.menus.pop(0) if self.menus else ""

        async def send_keys(keys: str) -> None:
            self.keys.append(keys)
            self.agent.did.append(f"keys {keys}")

        return AnswerHooks(
            beep=beep,
            conversation=conversation,
            listen=listen,
            quiet=quiet,
            menu=menu,
            send_keys=send_keys,
        )


async def test_a_menu_is_walked_to_the_person_and_nothing_is_said_to_it() -> None:
    agent = FakeAgent()
    line = MenuLine(
        agent,
        [
            Verdict(answer=AnswerClass.IVR, by="phrases", transcript="for billing press two"),
            Verdict(answer=AnswerClass.HUMAN, by="amd:speech_then_quiet"),
        ],
        [
            "for appointments press one. for all other calls press zero.",
            "for the front desk press one",
        ],
    )
    first = Verdict(answer=AnswerClass.IVR, by="phrases", transcript="welcome to the clinic")
    result = await after_answer(agent, first, line.hooks(), menu_target="the front desk")  # type: ignore[arg-type]
    assert line.keys == ["0", "1"]
    assert agent.did == ["keys 0", "keys 1", "settled", "reminder", "conversation"]
    assert result.outcome is Outcome.COMPLETED
    assert result.detail == "through the menu (keys 0 1): confirmed"


async def test_no_way_through_ends_ivr_failed() -> None:
    agent = FakeAgent()
    line = MenuLine(agent, [], ["for billing press two. for the pharmacy press five."])
    first = Verdict(answer=AnswerClass.IVR, by="phrases", transcript="")
    result = await after_answer(agent, first, line.hooks(), menu_target="the front desk")  # type: ignore[arg-type]
    assert agent.did == [] and line.keys == []
    assert result.outcome is Outcome.IVR_FAILED
    assert result.detail == "phone menu: no option leads to 'the front desk'"


async def test_silence_after_the_keys_ends_ivr_failed() -> None:
    agent = FakeAgent()
    line = MenuLine(agent, [Verdict(answer=AnswerClass.UNSURE, by="silence")], [CARE_HOME])
    first = Verdict(answer=AnswerClass.IVR, by="phrases", transcript="")
    result = await after_answer(agent, first, line.hooks(), menu_target="the front desk")  # type: ignore[arg-type]
    assert (result.outcome, result.detail) == (
        Outcome.IVR_FAILED,
        "phone menu: nothing answered after keys 1",
    )


async def test_without_a_target_a_menu_gets_nothing() -> None:
    agent = FakeAgent()
    line = MenuLine(agent, [], [CARE_HOME])
    first = Verdict(answer=AnswerClass.IVR, by="phrases", transcript="")
    result = await after_answer(agent, first, line.hooks())  # type: ignore[arg-type]
    assert line.keys == [] and result.outcome is Outcome.NO_ANSWER


def test_an_option_is_the_shortest_span_before_its_key() -> None:
    # an early look's half menu, then the final transcript of the whole, run together
    heard = (
        "thank you for calling for billing press two for the front "
        "thank you for calling for billing press two for the front desk press one"
    )
    assert menu_options(heard) == {"billing": "2", "the front desk": "1"}
    assert choose_key(heard, "the front desk") == "1"
