"""A stand-in for the LiveKit server's HTTP API, for tests. NOT the real server.

Built from LiveKit's published API documentation (docs.livekit.io) and a reading
of livekit/livekit (788d4c3), livekit/protocol (d74e7cd) and livekit/sip (be5d3f5);
no code was copied. It speaks Twirp (protobuf and JSON bodies) for the SIP, AgentDispatchService and
RoomService services, verifies the real client's HS256 tokens and grants, and
applies the server's SIP validation and conflict rules, so tests can drive it
with the unmodified ``livekit.api.LiveKitAPI`` client.

It also models who may hear whom (room membership, per-track subscription permissions,
where DTMF is played: media.py). It does not model: audio, SIP signalling or a phone
network (dial and transfer outcomes are scripted), webhooks, Egress/Ingress/Connector,
pagination, inbound-call routing (which trunk/rule wins a call), region failover beyond
a 404 on ``/settings/regions``, header-to-attribute mapping, Redis, or anything about
LiveKit Cloud that LiveKit's documentation does not state. See README.md.
"""

from .double import CLOUD_HOST, LiveKitDouble
from .errors import TwirpError, sip_code_to_twirp
from .faults import Fault
from .numbers import normalize_number
from .records import CallRecord
from .sip_script import CallScript, DialRecord, TransferRecord, TransferScript

__all__ = [
    "CLOUD_HOST",
    "CallRecord",
    "CallScript",
    "DialRecord",
    "Fault",
    "LiveKitDouble",
    "TransferRecord",
    "TransferScript",
    "TwirpError",
    "normalize_number",
    "sip_code_to_twirp",
]
