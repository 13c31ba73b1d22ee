"""What every handler gets: the stores, the switches, the SIP scripts, the request id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from .sip_script import SipScripts
from .state import DoubleOptions, DoubleState


@dataclass
class HandlerContext:
    state: DoubleState
    options: DoubleOptions
    sip: SipScripts
    #: X-Livekit-Request-Id, "" when absent
    request_id: str


Handler = Callable[[HandlerContext, Any], Awaitable[Message]]
#: method name -> (request message class, handler)
Routes = dict[str, tuple[type[Message], Handler]]
