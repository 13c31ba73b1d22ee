"""The server's SIP validation rules (LiveKit's API documentation), through the real client."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol.models import ListUpdate
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleDirect,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
)

from . import LiveKitDouble, normalize_number


def inbound(**kw: object) -> CreateSIPInboundTrunkRequest:
    return CreateSIPInboundTrunkRequest(trunk=SIPInboundTrunkInfo(**kw))  # type: ignore[arg-type]


def outbound(**kw: object) -> CreateSIPOutboundTrunkRequest:
    return CreateSIPOutboundTrunkRequest(trunk=SIPOutboundTrunkInfo(**kw))  # type: ignore[arg-type]


def rule(pin: str = "", direct: str = "", **kw: object) -> CreateSIPDispatchRuleRequest:
    if direct:
        r = SIPDispatchRule(dispatch_rule_direct=SIPDispatchRuleDirect(room_name=direct, pin=pin))
    else:
        r = SIPDispatchRule(
            dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix="c-", pin=pin)
        )
    return CreateSIPDispatchRuleRequest(dispatch_rule=SIPDispatchRuleInfo(rule=r, **kw))  # type: ignore[arg-type]


async def refused(coro: object, code: str = "invalid_argument") -> api.TwirpError:
    with pytest.raises(api.TwirpError) as info:
        await coro  # type: ignore[misc]
    assert info.value.code == code, info.value
    return info.value


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("+1 (555) 000-1", "+15550001"),
        ("15550001", "+15550001"),
        ("+15550001", "+15550001"),
        ("alice", "alice"),
        ("+1-555-CALL", "+1-555-CALL"),
        ("", ""),
    ],
)
def test_normalize_number(raw: str, normalized: str) -> None:
    assert normalize_number(raw) == normalized


# --- per object -----------------------------------------------------------------


async def test_inbound_needs_auth_addresses_or_numbers(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    e = await refused(lk.sip.create_inbound_trunk(inbound(name="open")))
    assert "for security" in e.message
    assert livekit_double.state.inbound_trunks == {}
    for ok in (
        inbound(auth_username="u", auth_password="p"),
        inbound(allowed_addresses=["1.2.3.4"]),
        inbound(numbers=["+1"]),
    ):
        t = await lk.sip.create_inbound_trunk(ok)
        # (the first two would conflict with each other: both take any number)
        await lk.sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id=t.sip_trunk_id))


@pytest.mark.parametrize(
    ("fields", "msg"),
    [
        ({"address": "sip.example.com"}, "no trunk numbers specified"),
        ({"numbers": ["+1"]}, "no outbound address specified"),
        ({"numbers": ["+1"], "address": "sip:sip.example.com"}, "not SIP URI"),
        ({"numbers": ["+1"], "address": "user@sip.example.com"}, "not SIP URI"),
        ({"numbers": ["+1"], "address": "sip.example.com;transport=tcp"}, "transport parameter"),
        ({"numbers": ["+1"], "address": "sip.example.com", "from_host": "a@b"}, "from_host"),
    ],
)
async def test_outbound_checks(lk: api.LiveKitAPI, fields: dict[str, object], msg: str) -> None:
    e = await refused(lk.sip.create_outbound_trunk(outbound(**fields)))
    assert msg in e.message


async def test_create_with_id_is_refused(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    e = await refused(lk.sip.create_inbound_trunk(inbound(sip_trunk_id="ST_mine", numbers=["+1"])))
    assert "must not be set" in e.message
    await refused(
        lk.sip.create_outbound_trunk(outbound(sip_trunk_id="ST_x", numbers=["+1"], address="h"))
    )
    r = rule()
    r.dispatch_rule.sip_dispatch_rule_id = "SDR_x"
    await refused(lk.sip.create_dispatch_rule(r))
    assert livekit_double.state.inbound_trunks == {} and livekit_double.state.dispatch_rules == {}


async def test_rule_without_rule_is_refused(lk: api.LiveKitAPI) -> None:
    e = await refused(
        lk.sip.create_dispatch_rule(
            CreateSIPDispatchRuleRequest(dispatch_rule=SIPDispatchRuleInfo())
        )
    )
    assert e.message == "missing rule"


async def test_unknown_and_empty_ids(lk: api.LiveKitAPI) -> None:
    await refused(lk.sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id="ST_nope")), "not_found")
    await refused(lk.sip.delete_trunk(DeleteSIPTrunkRequest()), "invalid_argument")
    await refused(
        lk.sip.delete_dispatch_rule(DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_nope")),
        "not_found",
    )
    await refused(lk.sip.delete_dispatch_rule(DeleteSIPDispatchRuleRequest()), "invalid_argument")
    await refused(
        lk.sip.update_inbound_trunk("ST_nope", SIPInboundTrunkInfo(numbers=["+1"])), "not_found"
    )
    await refused(lk.sip.update_outbound_trunk_fields("ST_nope", name="x"), "not_found")
    await refused(lk.sip.update_dispatch_rule_fields("SDR_nope", name="x"), "not_found")
    await refused(lk.sip.update_inbound_trunk_fields("", name="x"), "invalid_argument")


async def test_replace_with_other_id_is_refused(lk: api.LiveKitAPI) -> None:
    t = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    e = await refused(
        lk.sip.update_inbound_trunk(
            t.sip_trunk_id, SIPInboundTrunkInfo(sip_trunk_id="ST_other", numbers=["+1"])
        )
    )
    assert "must be empty or match" in e.message


async def test_bad_list_update(lk: api.LiveKitAPI) -> None:
    t = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    e = await refused(
        lk.sip.update_inbound_trunk_fields(
            t.sip_trunk_id, numbers=ListUpdate(set=["+2"], add=["+3"])
        )
    )
    assert e.message == "cannot set and change the list at the same time"


async def test_field_update_leaving_an_invalid_trunk(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    """The server returns the post-apply check unwrapped: twirp reports it as 500 unknown."""
    o = await lk.sip.create_outbound_trunk(outbound(numbers=["+1"], address="sip.example.com"))
    e = await refused(
        lk.sip.update_outbound_trunk_fields(o.sip_trunk_id, numbers=ListUpdate(remove=["+1"])),
        "unknown",
    )
    assert e.status == 500 and e.message == "no trunk numbers specified"
    assert list(livekit_double.state.outbound_trunks[o.sip_trunk_id].numbers) == ["+1"]
    # ...but the inbound "for security" check is a typed error and stays invalid_argument
    t = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    await refused(
        lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=ListUpdate(remove=["+1"]))
    )


# --- inbound trunk conflicts ------------------------------------------------------


async def test_same_number_normalized_conflicts(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    first = await lk.sip.create_inbound_trunk(inbound(name="a", numbers=["+1 (555) 000-1"]))
    e = await refused(lk.sip.create_inbound_trunk(inbound(name="b", numbers=["15550001"])))
    assert e.message.startswith("Conflicting inbound SIP Trunks:")
    assert f'"<new>" and "{first.sip_trunk_id}"' in e.message
    assert "without AllowedNumbers set" in e.message
    assert len(livekit_double.state.inbound_trunks) == 1


async def test_any_number_trunks_conflict(lk: api.LiveKitAPI) -> None:
    await lk.sip.create_inbound_trunk(inbound(allowed_addresses=["1.2.3.4"]))
    await refused(lk.sip.create_inbound_trunk(inbound(auth_username="u", auth_password="p")))
    # a trunk with numbers lives in another bucket
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))


async def test_allowed_numbers_separate_trunks(lk: api.LiveKitAPI) -> None:
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"], allowed_numbers=["+1 222"]))
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"], allowed_numbers=["+1333"]))
    # no allowed numbers: the catch-all slot of the bucket, free so far
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    e = await refused(
        lk.sip.create_inbound_trunk(inbound(numbers=["1"], allowed_numbers=["+1222"]))
    )
    assert 'AllowedNumber "+1222"' in e.message


async def test_update_into_conflict_is_refused(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    b = await lk.sip.create_inbound_trunk(inbound(numbers=["+2"]))
    await refused(
        lk.sip.update_inbound_trunk_fields(b.sip_trunk_id, numbers=ListUpdate(add=["+1"]))
    )
    assert list(livekit_double.state.inbound_trunks[b.sip_trunk_id].numbers) == ["+2"]
    # updating a trunk does not conflict with its own stored version
    await lk.sip.update_inbound_trunk_fields(b.sip_trunk_id, name="same numbers")


# --- dispatch rule conflicts ---------------------------------------------------------


async def test_rule_conflicts(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    first = await lk.sip.create_dispatch_rule(rule(name="default"))
    e = await refused(lk.sip.create_dispatch_rule(rule()))
    assert f'"{first.sip_dispatch_rule_id}" "default"' in e.message
    assert "already exists" in e.message
    # a PIN, a trunk, or a caller/called number makes the key different
    await lk.sip.create_dispatch_rule(rule(pin="1234"))
    await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_a"]))
    await lk.sip.create_dispatch_rule(rule(inbound_numbers=["+1 555 0001"]))
    await lk.sip.create_dispatch_rule(rule(numbers=["+15550009"]))
    # normalized numbers collide; the rule kind does not matter
    await refused(lk.sip.create_dispatch_rule(rule(inbound_numbers=["15550001"], direct="room")))
    await refused(lk.sip.create_dispatch_rule(rule(numbers=["1 (555) 0009"])))
    await refused(lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_b", "ST_a"])))
    assert len(livekit_double.state.dispatch_rules) == 5


async def test_rule_update_into_conflict(lk: api.LiveKitAPI) -> None:
    await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_a"]))
    b = await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_b"]))
    await refused(
        lk.sip.update_dispatch_rule_fields(
            b.sip_dispatch_rule_id, trunk_ids=ListUpdate(add=["ST_a"])
        )
    )
    await lk.sip.update_dispatch_rule_fields(b.sip_dispatch_rule_id, name="no conflict with itself")


async def test_server_misses_conflicts_of_a_moved_object(
    lk: api.LiveKitAPI, livekit_double: LiveKitDouble
) -> None:
    """livekit-server 788d4c3 filters the stored list by the *updated* object, so an update
    that moves a rule/trunk wholly onto another's trunk/number is never checked."""
    await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_a"]))
    b = await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_b"]))
    await lk.sip.update_dispatch_rule_fields(b.sip_dispatch_rule_id, trunk_ids=["ST_a"])
    await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
    t = await lk.sip.create_inbound_trunk(inbound(numbers=["+2"]))
    await lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=["+1"])
    assert len(livekit_double.state.inbound_trunks) == 2


async def test_full_conflict_check_on_update_option() -> None:
    with LiveKitDouble(full_conflict_check_on_update=True) as d:
        async with d.client() as lk:
            await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_a"]))
            b = await lk.sip.create_dispatch_rule(rule(trunk_ids=["ST_b"]))
            await refused(
                lk.sip.update_dispatch_rule_fields(b.sip_dispatch_rule_id, trunk_ids=["ST_a"])
            )
            await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
            t = await lk.sip.create_inbound_trunk(inbound(numbers=["+2"]))
            await refused(lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=["+1"]))
