"""CRUD round trips for trunks and dispatch rules, through the real client."""

from __future__ import annotations

from livekit import api
from livekit.protocol.models import ListUpdate
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    ListSIPDispatchRuleRequest,
    ListSIPInboundTrunkRequest,
    ListSIPOutboundTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPInboundTrunkUpdate,
    SIPOutboundTrunkInfo,
    SIPTransport,
    UpdateSIPInboundTrunkRequest,
)

from . import LiveKitDouble
from .raw import admin_token, post


def inbound(**kw: object) -> CreateSIPInboundTrunkRequest:
    return CreateSIPInboundTrunkRequest(trunk=SIPInboundTrunkInfo(**kw))  # type: ignore[arg-type]


def outbound(**kw: object) -> CreateSIPOutboundTrunkRequest:
    return CreateSIPOutboundTrunkRequest(trunk=SIPOutboundTrunkInfo(**kw))  # type: ignore[arg-type]


def individual_rule(**kw: object) -> CreateSIPDispatchRuleRequest:
    info = SIPDispatchRuleInfo(
        rule=SIPDispatchRule(
            dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix="call-")
        ),
        **kw,  # type: ignore[arg-type]
    )
    return CreateSIPDispatchRuleRequest(dispatch_rule=info)


async def test_inbound_trunk_round_trip(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    created = await lk.sip.create_inbound_trunk(
        inbound(name="main", numbers=["+15550001"], auth_username="u", auth_password="p")
    )
    assert created.sip_trunk_id.startswith("ST_") and len(created.sip_trunk_id) == 15
    assert created.HasField("created_at") and created.HasField("updated_at")
    assert livekit_double.state.inbound_trunks[created.sip_trunk_id].name == "main"

    listed = await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
    assert [t.sip_trunk_id for t in listed.items] == [created.sip_trunk_id]
    assert listed.items[0].auth_password == "p"  # self-hosted returns it as stored

    replaced = await lk.sip.update_inbound_trunk(
        created.sip_trunk_id, SIPInboundTrunkInfo(name="renamed", numbers=["+15550002"])
    )
    assert replaced.name == "renamed" and list(replaced.numbers) == ["+15550002"]
    assert replaced.auth_username == ""  # replace drops what it does not carry
    assert replaced.created_at == created.created_at

    patched = await lk.sip.update_inbound_trunk_fields(
        created.sip_trunk_id,
        numbers=ListUpdate(add=["+15550003"], remove=["+15550002"]),
        allowed_numbers=["+1999"],
        metadata="m",
    )
    assert list(patched.numbers) == ["+15550003"]
    assert list(patched.allowed_numbers) == ["+1999"]
    assert patched.name == "renamed" and patched.metadata == "m"

    deleted = await lk.sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id=created.sip_trunk_id))
    assert deleted.sip_trunk_id == created.sip_trunk_id
    assert livekit_double.state.inbound_trunks == {}


async def test_list_update_clear_and_set(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    t = await lk.sip.create_inbound_trunk(
        inbound(numbers=["+1", "+2"], allowed_addresses=["1.2.3.4"])
    )
    # The client never sends `clear`; send it raw to cover the server side.
    req = UpdateSIPInboundTrunkRequest(
        sip_trunk_id=t.sip_trunk_id,
        update=SIPInboundTrunkUpdate(numbers=ListUpdate(clear=True)),
    )
    reply = await post(
        livekit_double, "livekit.SIP/UpdateSIPInboundTrunk", req, token=admin_token(livekit_double)
    )
    assert reply.status == 200
    out = SIPInboundTrunkInfo.FromString(reply.body)
    assert list(out.numbers) == [] and list(out.allowed_addresses) == ["1.2.3.4"]
    out = await lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=["+7", "+8"])
    assert list(out.numbers) == ["+7", "+8"]


async def test_list_filters(lk: api.LiveKitAPI) -> None:
    a = await lk.sip.create_inbound_trunk(inbound(numbers=["+1 (555) 000-1"]))
    b = await lk.sip.create_inbound_trunk(inbound(numbers=["+15550002"]))
    c = await lk.sip.create_inbound_trunk(inbound(allowed_addresses=["10.0.0.0/8"]))  # any number

    by_number = await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest(numbers=["15550001"]))
    # normalized match, and a trunk without numbers matches every number
    assert {t.sip_trunk_id for t in by_number.items} == {a.sip_trunk_id, c.sip_trunk_id}

    by_id = await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest(trunk_ids=[b.sip_trunk_id]))
    assert [t.sip_trunk_id for t in by_id.items] == [b.sip_trunk_id]

    o = await lk.sip.create_outbound_trunk(outbound(address="sip.example.com", numbers=["+1 555"]))
    raw = await lk.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest(numbers=["+1555"]))
    assert raw.items == []  # outbound filtering compares numbers as written
    same = await lk.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest(numbers=["+1 555"]))
    assert [t.sip_trunk_id for t in same.items] == [o.sip_trunk_id]


async def test_outbound_trunk_round_trip(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    o = await lk.sip.create_outbound_trunk(
        outbound(
            name="out",
            address="sip.carrier.example",
            numbers=["+15550100"],
            transport=SIPTransport.SIP_TRANSPORT_TLS,
            auth_username="u",
            auth_password="secret",
        )
    )
    assert o.sip_trunk_id in livekit_double.state.outbound_trunks
    patched = await lk.sip.update_outbound_trunk_fields(
        o.sip_trunk_id, address="sip2.carrier.example", auth_password="rotated"
    )
    assert patched.address == "sip2.carrier.example"
    assert patched.transport == SIPTransport.SIP_TRANSPORT_TLS
    assert livekit_double.state.outbound_trunks[o.sip_trunk_id].auth_password == "rotated"
    listed = await lk.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest())
    assert [t.auth_password for t in listed.items] == ["rotated"]
    await lk.sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id=o.sip_trunk_id))
    assert livekit_double.state.outbound_trunks == {}


async def test_redacted_passwords_are_still_stored() -> None:
    with LiveKitDouble(redact_passwords=True) as d:
        async with d.client() as lk:
            t = await lk.sip.create_inbound_trunk(inbound(auth_username="u", auth_password="pw"))
            assert t.auth_password == ""
            listed = await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
            assert listed.items[0].auth_password == "" and listed.items[0].auth_username == "u"
        assert d.state.inbound_trunks[t.sip_trunk_id].auth_password == "pw"


async def test_dispatch_rule_round_trip(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    r = await lk.sip.create_dispatch_rule(individual_rule(name="main", trunk_ids=["ST_a"]))
    assert r.sip_dispatch_rule_id.startswith("SDR_")
    patched = await lk.sip.update_dispatch_rule_fields(
        r.sip_dispatch_rule_id,
        trunk_ids=ListUpdate(add=["ST_b"]),
        attributes={"k": "v"},
        name="renamed",
    )
    assert list(patched.trunk_ids) == ["ST_a", "ST_b"] and dict(patched.attributes) == {"k": "v"}
    listed = await lk.sip.list_dispatch_rule(ListSIPDispatchRuleRequest(trunk_ids=["ST_b"]))
    assert [x.name for x in listed.items] == ["renamed"]
    none = await lk.sip.list_dispatch_rule(ListSIPDispatchRuleRequest(trunk_ids=["ST_zzz"]))
    assert none.items == []
    gone = await lk.sip.delete_dispatch_rule(
        DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=r.sip_dispatch_rule_id)
    )
    assert gone.name == "renamed"
    assert livekit_double.state.dispatch_rules == {}


async def test_legacy_dispatch_rule_fields(lk: api.LiveKitAPI) -> None:
    r = await lk.sip.create_dispatch_rule(
        CreateSIPDispatchRuleRequest(
            rule=SIPDispatchRule(
                dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix="x")
            ),
            trunk_ids=["ST_a"],
            name="legacy",
        )
    )
    assert r.name == "legacy" and list(r.trunk_ids) == ["ST_a"]


async def test_self_hosted_quirks() -> None:
    with LiveKitDouble.self_hosted() as d:
        async with d.client() as lk:
            t = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
            assert not t.HasField("created_at")
            # livekit-server deletes trunks without looking them up first
            out = await lk.sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id="ST_unknown"))
            assert out.sip_trunk_id == "ST_unknown"


async def test_counts_every_call(lk: api.LiveKitAPI, livekit_double: LiveKitDouble) -> None:
    await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
    await lk.sip.list_inbound_trunk(ListSIPInboundTrunkRequest())
    assert livekit_double.count("ListSIPInboundTrunk") == 2
    assert livekit_double.count("CreateSIPInboundTrunk") == 0
    assert all(c.content_type == "application/protobuf" for c in livekit_double.calls)
    assert len({c.request_id for c in livekit_double.calls}) == 2
    livekit_double.calls.clear()
    assert livekit_double.count("ListSIPInboundTrunk") == 0
