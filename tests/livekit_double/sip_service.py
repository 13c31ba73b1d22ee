"""`livekit.SIP` handlers: trunks, dispatch rules, dialing and transfers.

Order of checks follows livekit/livekit 788d4c3 `pkg/service/sip.go`: request
validation, then the store lookup, then the conflict check over stored objects
(filtered the way the server lists them) plus the new or replaced one, then the
write — so a refused create or update leaves the store untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from google.protobuf.message import Message
from livekit.protocol.models import ListUpdate
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    CreateSIPParticipantRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    GetSIPInboundTrunkRequest,
    GetSIPInboundTrunkResponse,
    GetSIPOutboundTrunkRequest,
    GetSIPOutboundTrunkResponse,
    ListSIPDispatchRuleRequest,
    ListSIPDispatchRuleResponse,
    ListSIPInboundTrunkRequest,
    ListSIPInboundTrunkResponse,
    ListSIPOutboundTrunkRequest,
    ListSIPOutboundTrunkResponse,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
    SIPParticipantInfo,
    SIPStatus,
    SIPTransferReason,
    SIPTransferStatus,
    SIPTrunkInfo,
    TransferSIPParticipantRequest,
    TransferSIPParticipantResponse,
    UpdateSIPDispatchRuleRequest,
    UpdateSIPInboundTrunkRequest,
    UpdateSIPOutboundTrunkRequest,
)

from . import ids
from .context import HandlerContext, Routes
from .errors import TwirpError, sip_status_error
from .sip_script import DialRecord, TransferRecord
from .state import now_ns
from .validation import (
    Problem,
    apply_list_update,
    check_inbound,
    check_inbound_conflicts,
    check_list_update,
    check_outbound,
    check_outbound_config,
    check_rule,
    check_rule_conflicts,
    inbound_matches,
    outbound_matches,
    rule_matches,
)

TRUNK_NOT_FOUND = "requested sip trunk does not exist"
RULE_NOT_FOUND = "requested sip dispatch rule does not exist"


def _require_sip(ctx: HandlerContext) -> None:
    if not ctx.options.sip_connected:
        raise TwirpError("internal", "sip not connected (redis required)")


def _raise(problem: Problem | None) -> None:
    if problem is not None:
        raise problem.as_invalid_argument()


def _raise_escaped(problem: Problem | None) -> None:
    if problem is not None:
        raise problem.as_escaped()


def _stamp(
    info: SIPInboundTrunkInfo | SIPOutboundTrunkInfo | SIPDispatchRuleInfo,
    ctx: HandlerContext,
    *,
    created: bool,
) -> None:
    if not ctx.options.set_timestamps:
        return
    t = now_ns()
    if created or not info.HasField("created_at"):
        info.created_at.FromNanoseconds(t)
    info.updated_at.FromNanoseconds(t)


_Trunk = TypeVar("_Trunk", SIPInboundTrunkInfo, SIPOutboundTrunkInfo)
_M = TypeVar("_M", bound=Message)


def _out(info: _Trunk, ctx: HandlerContext) -> _Trunk:
    """A copy for the wire, with the password blanked when the double redacts."""
    out = type(info)()
    out.CopyFrom(info)
    if ctx.options.redact_passwords:
        out.auth_password = ""
    return out


def _copy(msg: _M) -> _M:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def _check_list_updates(update: Message, names: tuple[str, ...]) -> None:
    for name in names:
        if update.HasField(name):
            lu: ListUpdate = getattr(update, name)
            _raise(check_list_update(lu))


def _apply_scalars(dst: Message, update: Message, names: tuple[str, ...]) -> None:
    for name in names:
        if update.HasField(name):
            setattr(dst, name, getattr(update, name))


def _apply_lists(dst: Message, update: Message, names: tuple[str, ...]) -> None:
    for name in names:
        if update.HasField(name):
            new = apply_list_update(list(getattr(dst, name)), getattr(update, name))
            dst.ClearField(name)
            getattr(dst, name).extend(new)


def _apply_media(dst: Any, update: Any) -> None:
    """Media config is replaced whole, as the server does (no partial merge)."""
    if update.HasField("media"):
        dst.media.CopyFrom(update.media)
    if update.HasField("media_encryption"):
        dst.media_encryption = update.media_encryption


# --- inbound trunks -----------------------------------------------------------

_IN_LISTS = ("numbers", "allowed_addresses", "allowed_numbers")
_IN_SCALARS = ("auth_username", "auth_password", "auth_realm", "name", "metadata")


def _update_action(
    req: Any, target_id: str, label: str, id_field: str, check: Any, lists: tuple[str, ...]
) -> str:
    """Validate an Update request before taking the lock; returns "replace" or "update"."""
    if not target_id:
        raise TwirpError("invalid_argument", f"{label} id must be set")
    action: str | None = req.WhichOneof("action")
    if action is None:
        raise TwirpError("invalid_argument", "missing or unsupported update action")
    if action == "replace":
        own = getattr(req.replace, id_field)
        if own and own != target_id:
            raise TwirpError(
                "invalid_argument",
                f"{label} id in the info must be empty or match the id in the update",
            )
        _raise(check(req.replace))
    else:
        _check_list_updates(req.update, lists)
    return action


def _replaced(old: _M, replace: _M, id_field: str, target_id: str) -> _M:
    """The full replacement, keeping the id and the original creation time."""
    new = _copy(replace)
    setattr(new, id_field, target_id)
    if old.HasField("created_at") and not new.HasField("created_at"):
        new.created_at.CopyFrom(old.created_at)  # type: ignore[attr-defined]
    return new


async def create_inbound(ctx: HandlerContext, req: CreateSIPInboundTrunkRequest) -> Message:
    _require_sip(ctx)
    if not req.HasField("trunk"):
        raise TwirpError("invalid_argument", "missing trunk")
    if req.trunk.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk id must not be set")
    _raise(check_inbound(req.trunk))
    info = _copy(req.trunk)
    with ctx.state.lock:
        stored = [
            t for t in ctx.state.inbound_trunks.values() if inbound_matches(t, [], info.numbers)
        ]
        check_inbound_conflicts([*stored, info])
        info.sip_trunk_id = ids.new_id(ids.TRUNK)
        _stamp(info, ctx, created=True)
        ctx.state.inbound_trunks[info.sip_trunk_id] = info
        return _out(info, ctx)


async def update_inbound(ctx: HandlerContext, req: UpdateSIPInboundTrunkRequest) -> Message:
    _require_sip(ctx)
    tid: str = req.sip_trunk_id
    action = _update_action(req, tid, "trunk", "sip_trunk_id", check_inbound, _IN_LISTS)
    with ctx.state.lock:
        old = ctx.state.inbound_trunks.get(tid)
        if old is None:
            raise TwirpError("not_found", TRUNK_NOT_FOUND)
        if action == "replace":
            new = _replaced(old, req.replace, "sip_trunk_id", tid)
        else:
            update = req.update
            new = _copy(old)
            _apply_lists(new, update, _IN_LISTS)
            _apply_scalars(new, update, _IN_SCALARS)
            _apply_media(new, update)
            _raise_escaped(check_inbound(new))
        full = ctx.options.full_conflict_check_on_update
        stored = [
            new if t.sip_trunk_id == tid else t
            for t in ctx.state.inbound_trunks.values()
            if full or inbound_matches(t, [], new.numbers)
        ]
        check_inbound_conflicts(stored)
        _stamp(new, ctx, created=False)
        ctx.state.inbound_trunks[tid] = new
        return _out(new, ctx)


def _get_trunk(ctx: HandlerContext, store: dict[str, _Trunk], trunk_id: str) -> _Trunk:
    _require_sip(ctx)
    if not trunk_id:
        raise TwirpError("invalid_argument", "trunk ID is required")
    info = store.get(trunk_id)
    if info is None:
        raise TwirpError("not_found", TRUNK_NOT_FOUND)
    return _out(info, ctx)


async def get_inbound(ctx: HandlerContext, req: GetSIPInboundTrunkRequest) -> Message:
    return GetSIPInboundTrunkResponse(
        trunk=_get_trunk(ctx, ctx.state.inbound_trunks, req.sip_trunk_id)
    )


async def list_inbound(ctx: HandlerContext, req: ListSIPInboundTrunkRequest) -> Message:
    _require_sip(ctx)
    with ctx.state.lock:
        items = [
            _out(t, ctx)
            for t in ctx.state.inbound_trunks.values()
            if inbound_matches(t, req.trunk_ids, req.numbers)
        ]
    return ListSIPInboundTrunkResponse(items=items)


# --- outbound trunks ----------------------------------------------------------

_OUT_SCALARS = (
    "address",
    "transport",
    "destination_country",
    "auth_username",
    "auth_password",
    "name",
    "metadata",
    "from_host",
)


async def create_outbound(ctx: HandlerContext, req: CreateSIPOutboundTrunkRequest) -> Message:
    _require_sip(ctx)
    if not req.HasField("trunk"):
        raise TwirpError("invalid_argument", "missing trunk")
    if req.trunk.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk id must not be set")
    _raise(check_outbound(req.trunk))
    info = _copy(req.trunk)
    with ctx.state.lock:
        info.sip_trunk_id = ids.new_id(ids.TRUNK)
        _stamp(info, ctx, created=True)
        ctx.state.outbound_trunks[info.sip_trunk_id] = info
        return _out(info, ctx)


async def update_outbound(ctx: HandlerContext, req: UpdateSIPOutboundTrunkRequest) -> Message:
    _require_sip(ctx)
    tid: str = req.sip_trunk_id
    action = _update_action(req, tid, "trunk", "sip_trunk_id", check_outbound, ("numbers",))
    with ctx.state.lock:
        old = ctx.state.outbound_trunks.get(tid)
        if old is None:
            raise TwirpError("not_found", TRUNK_NOT_FOUND)
        if action == "replace":
            new = _replaced(old, req.replace, "sip_trunk_id", tid)
        else:
            update = req.update
            new = _copy(old)
            _apply_lists(new, update, ("numbers",))
            _apply_scalars(new, update, _OUT_SCALARS)
            _apply_media(new, update)
            _raise_escaped(check_outbound(new))
        _stamp(new, ctx, created=False)
        ctx.state.outbound_trunks[tid] = new
        return _out(new, ctx)


async def get_outbound(ctx: HandlerContext, req: GetSIPOutboundTrunkRequest) -> Message:
    return GetSIPOutboundTrunkResponse(
        trunk=_get_trunk(ctx, ctx.state.outbound_trunks, req.sip_trunk_id)
    )


async def list_outbound(ctx: HandlerContext, req: ListSIPOutboundTrunkRequest) -> Message:
    _require_sip(ctx)
    with ctx.state.lock:
        items = [
            _out(t, ctx)
            for t in ctx.state.outbound_trunks.values()
            if outbound_matches(t, req.trunk_ids, req.numbers)
        ]
    return ListSIPOutboundTrunkResponse(items=items)


async def delete_trunk(ctx: HandlerContext, req: DeleteSIPTrunkRequest) -> Message:
    _require_sip(ctx)
    if not req.sip_trunk_id:
        raise TwirpError("invalid_argument", "trunk ID is required")
    with ctx.state.lock:
        found = ctx.state.inbound_trunks.pop(req.sip_trunk_id, None) is not None
        found = ctx.state.outbound_trunks.pop(req.sip_trunk_id, None) is not None or found
    if not found and not ctx.options.delete_unknown_trunk_ok:
        raise TwirpError("not_found", TRUNK_NOT_FOUND)
    return SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)


# --- dispatch rules -----------------------------------------------------------

_RULE_SCALARS = ("name", "metadata")


def _rule_from_create(req: CreateSIPDispatchRuleRequest) -> SIPDispatchRuleInfo:
    if req.HasField("dispatch_rule"):
        if req.dispatch_rule.sip_dispatch_rule_id:
            raise TwirpError("invalid_argument", "rule id must not be set")
        info = _copy(req.dispatch_rule)
    else:  # the legacy flat fields
        info = SIPDispatchRuleInfo(
            trunk_ids=req.trunk_ids,
            inbound_numbers=req.inbound_numbers,
            hide_phone_number=req.hide_phone_number,
            name=req.name,
            metadata=req.metadata,
            attributes=dict(req.attributes),
            room_preset=req.room_preset,
        )
        if req.HasField("rule"):
            info.rule.CopyFrom(req.rule)
        if req.HasField("room_config"):
            info.room_config.CopyFrom(req.room_config)
    _raise(check_rule(info))
    return info


async def create_rule(ctx: HandlerContext, req: CreateSIPDispatchRuleRequest) -> Message:
    _require_sip(ctx)
    info = _rule_from_create(req)
    with ctx.state.lock:
        # The server filters stored rules by the request's top-level trunk_ids,
        # which is empty when the caller uses `dispatch_rule` — then all rules count.
        stored = [
            r for r in ctx.state.dispatch_rules.values() if rule_matches(r, [], req.trunk_ids)
        ]
        check_rule_conflicts([*stored, info])
        info.sip_dispatch_rule_id = ids.new_id(ids.DISPATCH_RULE)
        _stamp(info, ctx, created=True)
        ctx.state.dispatch_rules[info.sip_dispatch_rule_id] = info
        return _copy(info)


async def update_rule(ctx: HandlerContext, req: UpdateSIPDispatchRuleRequest) -> Message:
    _require_sip(ctx)
    rid: str = req.sip_dispatch_rule_id
    action = _update_action(req, rid, "rule", "sip_dispatch_rule_id", check_rule, ("trunk_ids",))
    with ctx.state.lock:
        old = ctx.state.dispatch_rules.get(rid)
        if old is None:
            raise TwirpError("not_found", RULE_NOT_FOUND)
        if action == "replace":
            new = _replaced(old, req.replace, "sip_dispatch_rule_id", rid)
        else:
            update = req.update
            new = _copy(old)
            _apply_lists(new, update, ("trunk_ids",))
            if update.HasField("rule"):
                new.rule.CopyFrom(update.rule)
            _apply_scalars(new, update, _RULE_SCALARS)
            for k, v in update.attributes.items():  # empty value deletes the key
                if v:
                    new.attributes[k] = v
                else:
                    new.attributes.pop(k, None)
            _apply_media(new, update)
            _raise_escaped(check_rule(new))
        full = ctx.options.full_conflict_check_on_update
        stored = [
            new if r.sip_dispatch_rule_id == rid else r
            for r in ctx.state.dispatch_rules.values()
            if full or rule_matches(r, [], new.trunk_ids)
        ]
        check_rule_conflicts(stored)
        _stamp(new, ctx, created=False)
        ctx.state.dispatch_rules[rid] = new
        return _copy(new)


async def list_rules(ctx: HandlerContext, req: ListSIPDispatchRuleRequest) -> Message:
    _require_sip(ctx)
    with ctx.state.lock:
        items = [
            _copy(r)
            for r in ctx.state.dispatch_rules.values()
            if rule_matches(r, req.dispatch_rule_ids, req.trunk_ids)
        ]
    return ListSIPDispatchRuleResponse(items=items)


async def delete_rule(ctx: HandlerContext, req: DeleteSIPDispatchRuleRequest) -> Message:
    _require_sip(ctx)
    if not req.sip_dispatch_rule_id:
        raise TwirpError("invalid_argument", "dispatch rule ID is required")
    with ctx.state.lock:
        info = ctx.state.dispatch_rules.pop(req.sip_dispatch_rule_id, None)
    if info is None:
        raise TwirpError("not_found", RULE_NOT_FOUND)
    return info


# --- dialing ------------------------------------------------------------------


def _validate_dial(req: CreateSIPParticipantRequest) -> None:
    if not req.sip_trunk_id and not req.HasField("trunk") and not req.sip_number:
        raise TwirpError("invalid_argument", "missing sip trunk id and sip number")
    if req.HasField("trunk"):
        _raise(check_outbound_config(req.trunk))
    if not req.sip_call_to:
        raise TwirpError("invalid_argument", "missing sip callee number")
    if "@" in req.sip_call_to:
        raise TwirpError(
            "invalid_argument", "SipCallTo should be a phone number or SIP user, not a full SIP URI"
        )
    if not req.room_name:
        raise TwirpError("invalid_argument", "missing room name")
    if req.HasField("display_name") and len(req.display_name) > 128:
        raise TwirpError("invalid_argument", "DisplayName too long (max 128 characters)")


async def create_participant(ctx: HandlerContext, req: CreateSIPParticipantRequest) -> Message:
    """Dial: look up the trunk, consult the script, then join (or fail) like the SIP service.

    With ``wait_until_answered`` the response waits for the outcome; without it the
    participant joins at once with callStatus "dialing" and a scripted failure
    removes it afterwards (the client gets no error, as with the real server).
    """
    _require_sip(ctx)
    _validate_dial(req)
    trunk: SIPOutboundTrunkInfo | None = None
    if req.sip_trunk_id:
        trunk = ctx.state.outbound_trunks.get(req.sip_trunk_id)
        if trunk is None:
            raise TwirpError("not_found", TRUNK_NOT_FOUND)
    number = req.sip_number
    if not number:
        if trunk is None or not trunk.numbers:
            raise TwirpError("failed_precondition", "no numbers on outbound trunk")
        number = trunk.numbers[0]  # the server picks one at random; first is reproducible
    hostname = trunk.address if trunk is not None else req.trunk.hostname
    call_id = ids.new_id(ids.SIP_CALL)
    identity = req.participant_identity or "sip_" + req.sip_call_to
    attrs = dict(req.participant_attributes)
    attrs["sip.callID"] = call_id
    attrs["sip.trunkID"] = req.sip_trunk_id
    if not req.hide_phone_number:
        attrs["sip.phoneNumber"] = req.sip_call_to
        attrs["sip.hostname"] = hostname
        attrs["sip.trunkPhoneNumber"] = number
    record = DialRecord(request=_copy(req), call_id=call_id)
    ctx.sip.dials.append(record)
    script = ctx.sip.take_call_script(req.sip_call_to)

    def join(status: str) -> str:
        attrs["sip.callStatus"] = status
        p = ctx.state.add_participant(
            req.room_name,
            identity,
            name=req.participant_name,
            metadata=req.participant_metadata,
            attributes=attrs,
            kind="sip",
        )
        return p.sid

    def failure() -> TwirpError | None:
        if script.ringing_timeout:
            record.outcome = "no_answer"
            return TwirpError("canceled", "sip request timed out")
        if script.sip_status_code is not None:
            record.outcome = "failed"
            record.sip_status_code = script.sip_status_code
            return sip_status_error(script.sip_status_code, script.sip_status)
        return None

    if req.wait_until_answered:
        try:
            if script.delay:
                await asyncio.sleep(script.delay)
            err = failure()
            if err is not None:
                raise err
            record.outcome = "answered"
            sid = join("active")
        finally:
            record.settled.set()
    else:
        sid = join("dialing")

        async def finish() -> None:
            try:
                if script.delay:
                    await asyncio.sleep(script.delay)
                if failure() is not None:
                    ctx.state.remove_participant(req.room_name, identity)
                    return
                record.outcome = "answered"
                with ctx.state.lock:
                    p = ctx.state.participants.get(req.room_name, {}).get(identity)
                    if p is not None:
                        p.attributes["sip.callStatus"] = "active"
            finally:
                record.settled.set()

        _background.add(task := asyncio.get_running_loop().create_task(finish()))
        task.add_done_callback(_background.discard)
    return SIPParticipantInfo(
        participant_id=sid,
        participant_identity=identity,
        room_name=req.room_name,
        sip_call_id=call_id,
    )


_background: set[asyncio.Task[None]] = set()


async def transfer_participant(ctx: HandlerContext, req: TransferSIPParticipantRequest) -> Message:
    """Transfer (SIP REFER): the participant must be a SIP participant of the room."""
    if not req.room_name:
        raise TwirpError("invalid_argument", "Missing room name")
    if not req.participant_identity:
        raise TwirpError("invalid_argument", "Missing participant identity")
    if not req.transfer_to:
        raise TwirpError("invalid_argument", "missing transfer to")
    inner = req.transfer_to
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if not inner.startswith(("sip:", "sips:", "tel:")):
        raise TwirpError(
            "invalid_argument",
            "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)",
        )
    p = ctx.state.participants.get(req.room_name, {}).get(req.participant_identity)
    if p is None:
        raise TwirpError("not_found", "participant does not exist")
    if "sip.callID" not in p.attributes:
        raise TwirpError("invalid_argument", "no SIP session associated with participant")
    transfer_id = ids.new_id(ids.SIP_TRANSFER)
    record = TransferRecord(request=_copy(req), transfer_id=transfer_id)
    ctx.sip.transfers.append(record)
    script = ctx.sip.take_transfer_script(req.transfer_to)
    if script.delay:
        await asyncio.sleep(script.delay)
    if script.ringing_timeout:
        record.outcome = "no_answer"
        raise TwirpError(
            "canceled",
            "sip request timed out",
            {"sip_transfer_reason": "STR_RINGING_TIMEOUT", "sip_transfer_id": transfer_id},
        )
    if script.sip_status_code is not None:
        record.outcome = "failed"
        record.sip_status_code = script.sip_status_code
        raise sip_status_error(
            script.sip_status_code,
            script.sip_status,
            extra_meta={"sip_transfer_reason": script.reason, "sip_transfer_id": transfer_id},
        )
    if script.status is not None:
        record.outcome = script.status
        return TransferSIPParticipantResponse(
            transfer_id=transfer_id,
            status=SIPTransferStatus.Value(script.status),  # type: ignore[arg-type]
            reason=SIPTransferReason.STR_UNSPECIFIED,
        )
    record.outcome = "transferred"
    ctx.state.remove_participant(req.room_name, req.participant_identity)
    return TransferSIPParticipantResponse(
        transfer_id=transfer_id,
        status=SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
        reason=SIPTransferReason.STR_COMPLETED,
        sip_status=SIPStatus(code=200, status="OK"),  # type: ignore[arg-type]
    )


ROUTES: Routes = {
    "CreateSIPInboundTrunk": (CreateSIPInboundTrunkRequest, create_inbound),
    "UpdateSIPInboundTrunk": (UpdateSIPInboundTrunkRequest, update_inbound),
    "GetSIPInboundTrunk": (GetSIPInboundTrunkRequest, get_inbound),
    "ListSIPInboundTrunk": (ListSIPInboundTrunkRequest, list_inbound),
    "CreateSIPOutboundTrunk": (CreateSIPOutboundTrunkRequest, create_outbound),
    "UpdateSIPOutboundTrunk": (UpdateSIPOutboundTrunkRequest, update_outbound),
    "GetSIPOutboundTrunk": (GetSIPOutboundTrunkRequest, get_outbound),
    "ListSIPOutboundTrunk": (ListSIPOutboundTrunkRequest, list_outbound),
    "DeleteSIPTrunk": (DeleteSIPTrunkRequest, delete_trunk),
    "CreateSIPDispatchRule": (CreateSIPDispatchRuleRequest, create_rule),
    "UpdateSIPDispatchRule": (UpdateSIPDispatchRuleRequest, update_rule),
    "ListSIPDispatchRule": (ListSIPDispatchRuleRequest, list_rules),
    "DeleteSIPDispatchRule": (DeleteSIPDispatchRuleRequest, delete_rule),
    "CreateSIPParticipant": (CreateSIPParticipantRequest, create_participant),
    "TransferSIPParticipant": (TransferSIPParticipantRequest, transfer_participant),
}
