"""Caller identity from the SIP participant's attributes."""

from dialtone.inbound.entry import requested_persona
from dialtone.telephony.caller import CallerInfo


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


def test_persona_from_dispatch_metadata() -> None:
    assert requested_persona('{"persona": "salon"}') == "salon"
    assert requested_persona("") is None
    assert requested_persona("not json") is None
    assert requested_persona('{"persona": 3}') is None
    assert requested_persona('["salon"]') is None
