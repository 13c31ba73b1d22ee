"""The toll-fraud guard: which numbers a campaign may dial at all.

A campaign's contact list is data a clinic uploads; a mistyped or malicious row must not
turn into a premium-rate bill. This is checked per contact at upload (`ContactChecker`)
and is separate from the callee's law (`campaigns.policy`), which decides *when*.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Always refused: premium-rate and special-rate services, where a compromised or mistyped
#: campaign turns into a bill. A floor, not an exhaustive list; only matters for a country
#: code that DIALTONE_ALLOWED_COUNTRY_CODES allows.
PREMIUM_PREFIXES: tuple[tuple[str, str], ...] = (
    ("+1900", "US premium-rate (900)"),
    ("+1976", "US premium-rate (976)"),
    ("+449", "UK premium-rate (09)"),
    ("+4487", "UK special-rate (087)"),
    ("+4470", "UK personal numbering (070)"),
    ("+3389", "French premium-rate (089)"),
    ("+49900", "German premium-rate (0900)"),
    ("+49137", "German televoting (0137)"),
    ("+6119", "Australian premium-rate (19)"),
    ("+64900", "New Zealand premium-rate (0900)"),
    ("+34803", "Spanish premium-rate (803)"),
    ("+34806", "Spanish premium-rate (806)"),
    ("+34807", "Spanish premium-rate (807)"),
    ("+3989", "Italian premium-rate (89)"),
    ("+870", "Inmarsat satellite"),
    ("+881", "global satellite service"),
    ("+882", "international networks"),
    ("+883", "international networks"),
    ("+979", "international premium-rate"),
)

#: NANP area codes outside the USA and Canada: "+1" numbers billed as international calls,
#: the classic one-ring toll-fraud destinations. Refused unless "1" + the area code is
#: listed in DIALTONE_ALLOWED_COUNTRY_CODES. US territories (787, 939, 340, 671, ...) are
#: domestic and not listed.
NANP_INTERNATIONAL_AREAS = frozenset(
    (
        *("242", "246", "264", "268", "284", "345", "441", "473", "649", "658", "664"),
        *("721", "758", "767", "784", "809", "829", "849", "868", "869", "876"),
    )
)


@dataclass(frozen=True)
class DestinationPolicy:
    """Which numbers campaigns may dial (from DIALTONE_ALLOWED_COUNTRY_CODES)."""

    allowed_codes: tuple[str, ...] = ("1",)

    def refusal(self, phone: str) -> str | None:
        """Why `phone` (already E.164) may not be dialled, or None if it may."""
        for prefix, what in PREMIUM_PREFIXES:
            if phone.startswith(prefix):
                return f"{phone} is a {what} number ({prefix}); premium destinations are refused"
        digits = phone[1:]
        if digits.startswith("1") and digits[1:4] in NANP_INTERNATIONAL_AREAS:
            if digits[:4] not in self.allowed_codes:
                return (
                    f"{phone} is in NANP area code {digits[1:4]}, billed as an international "
                    f"call; add 1{digits[1:4]} to DIALTONE_ALLOWED_COUNTRY_CODES to allow it"
                )
            return None
        if not any(digits.startswith(code) for code in self.allowed_codes if len(code) <= 3):
            return (
                f"{phone} is outside the allowed country calling codes "
                f"(+{', +'.join(self.allowed_codes)}); see DIALTONE_ALLOWED_COUNTRY_CODES"
            )
        return None
