"""Where the callee is: from the contact's own fields, else from the number itself.

The campaign's zone used to stand in for every contact without one. The number says
more: its country, and for NANP numbers the area code's state and zone (numbers move
with their owners, so a contact's own fields always win, and the source of each part
is recorded with it). Only when neither says anything does the campaign's zone apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

from .regions import US_STATES


class Source(StrEnum):
    CONTACT = "contact"
    NUMBER = "number"
    CAMPAIGN = "campaign"


@dataclass(frozen=True, kw_only=True)
class CalleeLocation:
    """The callee's zone (IANA), country (ISO 3166-1 alpha-2) and subdivision ("FL").

    `source` says where each came from, e.g. "zone=contact country=number region=number":
    what an auditor needs to see to judge a call's hours.
    """

    zone: str
    country: str | None = None
    region: str | None = None
    source: str = ""

    @property
    def key(self) -> str:
        if self.country and self.region:
            return f"{self.country}-{self.region}"
        return self.country or "unknown"


def _parse(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


def from_number(phone: str, *, prefer_zone: str | None = None) -> CalleeLocation | None:
    """What the number says about its owner's location, or None if nothing.

    A number valid for its plan gives its country, and NANP numbers their state (from
    the geocoder's description, "Florida" or "Miami, FL") and zone. An invalid number
    (a fictional 555 exchange) still gives its calling code's main country, no zone.
    Of several candidate zones, `prefer_zone` wins if among them, else the first.
    """
    number = _parse(phone)
    if number is None:
        return None
    country = phonenumbers.region_code_for_number(number)
    valid = country is not None and phonenumbers.is_valid_number(number)
    if not valid:
        main = phonenumbers.region_code_for_country_code(number.country_code or 0)
        return CalleeLocation(zone="", country=None if main == "ZZ" else main)
    zones = [z for z in number_zones.time_zones_for_number(number) if z != "Etc/Unknown"]
    zone = prefer_zone if prefer_zone in zones else (zones[0] if zones else "")
    region = None
    if country in ("US", "CA"):
        description = geocoder.description_for_number(number, "en")
        region = _state(description)
    return CalleeLocation(zone=zone, country=country, region=region)


def _state(description: str) -> str | None:
    """ "Florida" -> "FL"; "Miami, FL" -> "FL"; else None."""
    if description in US_STATES:
        return US_STATES[description]
    head, _, tail = description.rpartition(", ")
    if head and len(tail) == 2 and tail.isalpha() and tail.isupper():
        return tail
    return None


def resolve(
    *,
    phone: str,
    zone: str | None,
    country: str | None,
    region: str | None,
    campaign_zone: str,
) -> CalleeLocation:
    """The callee's location: each part from the contact if given, else the number, else
    (the zone only) the campaign's."""
    found = from_number(phone, prefer_zone=zone or campaign_zone) or CalleeLocation(zone="")
    parts: dict[str, tuple[str | None, Source | None]] = {}
    parts["zone"] = (
        (zone, Source.CONTACT)
        if zone
        else (found.zone, Source.NUMBER)
        if found.zone
        else (campaign_zone, Source.CAMPAIGN)
    )
    parts["country"] = (
        (country.upper(), Source.CONTACT)
        if country
        else (found.country, Source.NUMBER)
        if found.country
        else (None, None)
    )
    same_country = parts["country"][0] == found.country
    parts["region"] = (
        (region.upper(), Source.CONTACT)
        if region
        else (found.region, Source.NUMBER)
        if found.region and same_country
        else (None, None)
    )
    source = " ".join(f"{name}={src.value}" for name, (_, src) in parts.items() if src)
    return CalleeLocation(
        zone=parts["zone"][0] or campaign_zone,
        country=parts["country"][0],
        region=parts["region"][0],
        source=source,
    )
