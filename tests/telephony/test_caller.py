"""Caller identity from the SIP participant's attributes."""

from dialtone.telephony.caller import CallerInfo
from dialtone.trunkspec.convert import build_rule
from dialtone.trunkspec.model import DispatchRuleSpec
from dialtone.wire import InboundJob


def test_attributes_are_read_and_empty_values_are_none() -> None:
    info = CallerInfo.from_attributes(
        {
            "sip.phoneNumber": "+15551230000",
            "sip.trunkPhoneNumber": "+15550100100",
            "sip.callID": "SCL_abc",
            "sip.trunkID": "ST_1",
            "sip.ruleID": "",
        }
    )
    assert info == CallerInfo(
        phone_number="+15551230000",
        dialed_number="+15550100100",
        call_id="SCL_abc",
        trunk_id="ST_1",
        rule_id=None,
    )
    assert CallerInfo.from_attributes(info.to_attributes()) == info


def test_withheld_number_is_not_an_error() -> None:
    assert CallerInfo.from_attributes({"sip.callID": "SCL_x"}).phone_number is None


def test_the_persona_a_dispatch_rule_writes_is_the_one_the_worker_reads() -> None:
    rule = DispatchRuleSpec(name="salon line", agent="receptionist", persona="salon")
    info = build_rule(rule, trunk_ids=[], pin="", metadata="")
    assert InboundJob.from_metadata(info.room_config.agents[0].metadata).persona == "salon"
    plain = build_rule(rule.model_copy(update={"persona": None}), trunk_ids=[], pin="", metadata="")
    assert InboundJob.from_metadata(plain.room_config.agents[0].metadata).persona is None
