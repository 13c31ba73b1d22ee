"""Twirp errors as the LiveKit server puts them on the wire.

The real client only ever looks at the HTTP status and the JSON body
``{"code", "msg", "meta"}``; getting the status right matters because the client
retries 5xx itself and returns 4xx at once.
"""

from __future__ import annotations

import base64

from google.protobuf import any_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]
from livekit.protocol import sip as proto_sip

#: Twirp error code -> HTTP status, as twirp's Go server maps them.
TWIRP_HTTP_STATUS: dict[str, int] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

#: Twirp code -> numeric gRPC code, used only to build the ``error_details`` meta.
_GRPC_CODE: dict[str, int] = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "dataloss": 15,
    "unauthenticated": 16,
}

# sipCodeToGRPCCode (livekit/protocol livekit/sip.go), expressed as Twirp codes.
_SIP_CODE_TO_TWIRP: dict[int, str] = {
    300: "invalid_argument",
    301: "not_found",
    302: "not_found",
    305: "invalid_argument",
    380: "invalid_argument",
    400: "invalid_argument",
    401: "permission_denied",
    402: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_argument",
    406: "invalid_argument",
    407: "unauthenticated",
    408: "deadline_exceeded",
    409: "failed_precondition",
    410: "not_found",
    411: "invalid_argument",
    412: "failed_precondition",
    413: "invalid_argument",
    414: "invalid_argument",
    415: "invalid_argument",
    416: "out_of_range",
    417: "invalid_argument",
    420: "invalid_argument",
    421: "invalid_argument",
    422: "invalid_argument",
    423: "invalid_argument",
    424: "invalid_argument",
    425: "invalid_argument",
    428: "unauthenticated",
    429: "invalid_argument",
    430: "invalid_argument",
    433: "permission_denied",
    436: "unauthenticated",
    437: "unauthenticated",
    438: "unauthenticated",
    439: "invalid_argument",
    440: "resource_exhausted",
    469: "invalid_argument",
    470: "permission_denied",
    480: "resource_exhausted",
    481: "not_found",
    482: "failed_precondition",
    483: "failed_precondition",
    484: "invalid_argument",
    485: "invalid_argument",
    486: "resource_exhausted",
    487: "aborted",
    488: "invalid_argument",
    489: "invalid_argument",
    491: "aborted",
    493: "invalid_argument",
    494: "unauthenticated",
    500: "failed_precondition",
    501: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    505: "invalid_argument",
    513: "invalid_argument",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
    606: "invalid_argument",
    607: "permission_denied",
    608: "permission_denied",
}


class TwirpError(Exception):
    """An error the double answers with; raised anywhere inside a handler."""

    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        if code not in TWIRP_HTTP_STATUS:
            raise ValueError(f"unknown Twirp error code {code!r}")
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.meta: dict[str, str] = dict(meta or {})

    @property
    def http_status(self) -> int:
        return TWIRP_HTTP_STATUS[self.code]

    def body(self) -> dict[str, object]:
        """The JSON body; twirp omits ``meta`` when it is empty."""
        out: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.meta:
            out["meta"] = dict(self.meta)
        return out


def sip_code_to_twirp(code: int) -> str:
    """The Twirp code the server uses for a final SIP response (`sipCodeToGRPCCode`)."""
    mapped = _SIP_CODE_TO_TWIRP.get(code)
    if mapped is not None:
        return mapped
    if code < 200:
        return "unknown"
    if code < 500:
        return "invalid_argument"
    if code < 600:
        return "failed_precondition"
    if code < 700:
        return "invalid_argument"
    return "unknown"


def _status_code_name(code: int) -> str:
    """Go's `SIPStatusCode.String()`: the enum name, or the number when unnamed."""
    try:
        return proto_sip.SIPStatusCode.Name(code)
    except ValueError:
        return str(code)


def sip_status_error(
    code: int,
    status: str = "",
    *,
    extra_meta: dict[str, str] | None = None,
) -> TwirpError:
    """The error a dial or transfer fails with when the far end answers ``code``.

    Mirrors `SIPStatus.GRPCStatus` + `TwirpErrorMeta` + xtwirp's `error_details`:
    message ``sip status 486: Busy Here``, meta ``sip_status_code``/``sip_status``.
    """
    twirp_code = sip_code_to_twirp(code)
    name = _status_code_name(code)
    short = name.removeprefix("SIP_STATUS_")
    msg = f"sip status {code}: {status or short}"
    meta = {"sip_status_code": str(code), "sip_status": status or name}
    detail = any_pb2.Any()
    detail.Pack(proto_sip.SIPStatus(code=code, status=status))  # type: ignore[arg-type]
    st = status_pb2.Status(code=_GRPC_CODE.get(twirp_code, 2), message=msg, details=[detail])
    meta["error_details"] = base64.b64encode(st.SerializeToString()).decode("ascii")
    if extra_meta:
        meta.update(extra_meta)
    return TwirpError(twirp_code, msg, meta)
