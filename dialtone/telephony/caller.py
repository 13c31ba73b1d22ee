"""Who is calling, read from the SIP participant LiveKit puts in the room.

LiveKit's SIP service describes the call in participant attributes (names from
livekit/protocol `livekit/attrs.go`). Reading them in one place keeps the rest of the
code free of string keys, and gives the simulator a way to describe a fake caller the
same way a real one is described.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ATTR_CALL_ID = "sip.callID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_TRUNK_PHONE_NUMBER = "sip.trunkPhoneNumber"
ATTR_TRUNK_ID = "sip.trunkID"
ATTR_RULE_ID = "sip.ruleID"
ATTR_CALL_STATUS = "sip.callStatus"


@dataclass(frozen=True)
class CallerInfo:
    """The caller's number, the number they dialed, and the SIP call id."""

    phone_number: str | None = None
    dialed_number: str | None = None
    call_id: str | None = None
    trunk_id: str | None = None
    rule_id: str | None = None

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, str]) -> CallerInfo:
        """Build from a participant's attributes; absent or empty values become None.

        A caller may withhold their number (`hide_phone_number` on the dispatch rule, or
        an anonymous caller): that is normal, not an error.
        """

        def get(key: str) -> str | None:
            value = attributes.get(key, "").strip()
            return value or None

        return cls(
            phone_number=get(ATTR_PHONE_NUMBER),
            dialed_number=get(ATTR_TRUNK_PHONE_NUMBER),
            call_id=get(ATTR_CALL_ID),
            trunk_id=get(ATTR_TRUNK_ID),
            rule_id=get(ATTR_RULE_ID),
        )

    def to_attributes(self) -> dict[str, str]:
        """The inverse of `from_attributes`, used to describe simulated callers."""
        pairs = {
            ATTR_PHONE_NUMBER: self.phone_number,
            ATTR_TRUNK_PHONE_NUMBER: self.dialed_number,
            ATTR_CALL_ID: self.call_id,
            ATTR_TRUNK_ID: self.trunk_id,
            ATTR_RULE_ID: self.rule_id,
        }
        return {key: value for key, value in pairs.items() if value}
