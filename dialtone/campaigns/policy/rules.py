"""The callee's law as data: legal calling hours, holidays, closure days, per-number caps.

A deployer reads and extends these rules as YAML (`rules.yaml` beside this module is
the shipped floor; `DIALTONE_CALLING_RULES` names a file of the deployer's own, read on
top of it). Both are validated like personas: a mistake is one line naming the file and
the field. The loaded `CallingRules` is frozen and consulted only through `decide`.

Merging a deployer's file over the shipped one:
- `regions`: an entry replaces the shipped entry of the same key, or adds one;
- `closures`: added to the shipped list (closure days only ever close);
- `per_number`, `default_hours`, `abandoned_max_rate`: replace the shipped values.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...config import ConfigError
from ...yamlfile import read_yaml
from ..models import CallingWindow, Weekday

SHIPPED_RULES = Path(__file__).with_name("rules.yaml")

_REGION_KEY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_ALL_DAYS = list(Weekday)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalHours(_Strict):
    """Local wall-clock hours within which a call may start, at the callee's location."""

    start: time
    end: time
    days: list[Weekday] = Field(default_factory=lambda: list(_ALL_DAYS))

    @model_validator(mode="after")
    def _shape(self) -> LegalHours:
        if self.start >= self.end:
            raise ValueError("start must be before end (legal hours do not cross midnight)")
        if not self.days:
            raise ValueError("days is empty: calls would never be allowed")
        return self

    @property
    def window(self) -> CallingWindow:
        return CallingWindow(start=self.start, end=self.end, days=self.days)

    def describe(self) -> str:
        days = "" if len(self.days) == 7 else " " + ",".join(d.value for d in self.days)
        return f"{self.start:%H:%M}-{self.end:%H:%M}{days}"


class RegionRules(_Strict):
    """What one country ("US") or one subdivision ("US-FL") adds to the floor.

    A subdivision's rules apply on top of its country's, never instead: hours intersect,
    caps take the lower. `source` says where the rule comes from (shown in refusals' docs).
    """

    source: str = Field(min_length=1)
    hours: list[LegalHours] = Field(default_factory=list)
    #: calls to one number in any 24 hours, across every campaign (one subject: reminders)
    max_calls_24h: Annotated[int, Field(ge=1, le=100)] | None = None
    #: skip the country's public holidays (the `holidays` package, with the subdivision)
    holidays: bool = False


class PerNumberCaps(_Strict):
    """Limits per phone number across every campaign of this deployment."""

    per_day: Annotated[int, Field(ge=1, le=100)] = 3
    per_week: Annotated[int, Field(ge=1, le=700)] = 7
    min_gap_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 10

    @model_validator(mode="after")
    def _week_covers_day(self) -> PerNumberCaps:
        if self.per_week < self.per_day:
            raise ValueError("per_week is lower than per_day; raise it or lower per_day")
        return self


class Closure(_Strict):
    """A day the deployer does not call (a clinic closed for a local holiday)."""

    date: date
    reason: str = Field(min_length=1, max_length=200)
    #: region keys ("US", "US-FL", "GB"); empty: every callee
    regions: list[str] = Field(default_factory=list)

    @field_validator("regions")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not _REGION_KEY.match(key):
                raise ValueError(f"{key!r} is not a region key like US, GB or US-FL")
        return value


class CallingRules(_Strict):
    """Everything `decide` applies besides the campaign's own window."""

    #: hours for a callee whose country has no entry (the strictest common floor)
    default_hours: list[LegalHours] = Field(min_length=1)
    per_number: PerNumberCaps = PerNumberCaps()
    regions: dict[str, RegionRules] = Field(default_factory=dict)
    closures: list[Closure] = Field(default_factory=list)
    #: a campaign pauses itself when more of its person-answered calls in the last 24 h
    #: were abandoned (no agent speech within 2 s) than this share
    abandoned_max_rate: Annotated[float, Field(ge=0, le=1)] = 0.03

    @field_validator("regions")
    @classmethod
    def _region_keys(cls, value: dict[str, RegionRules]) -> dict[str, RegionRules]:
        for key in value:
            if not _REGION_KEY.match(key):
                raise ValueError(f"{key!r} is not a region key like US, GB or US-FL")
        return value

    def applicable(self, country: str | None, region: str | None) -> list[tuple[str, RegionRules]]:
        """The entries that govern a callee, by key: its country's, then its subdivision's."""
        keys = [country] if country else []
        if country and region:
            keys.append(f"{country}-{region}")
        return [(key, self.regions[key]) for key in keys if key in self.regions]

    def closure_days(self, country: str | None, region: str | None) -> dict[date, str]:
        keys = {k for k in (country, f"{country}-{region}" if region else None) if k}
        return {c.date: c.reason for c in self.closures if not c.regions or keys & set(c.regions)}


def _validate(raw: Any, shown: str) -> CallingRules:
    from pydantic import ValidationError

    if not isinstance(raw, dict):
        raise ConfigError(f"{shown}: expected a mapping of calling rules at the top")
    try:
        return CallingRules.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(
            f"{shown}: {where}: {first['msg'].removeprefix('Value error, ')}{more}"
        ) from None


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A deployer's file over the shipped one (see the module docstring)."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "regions" and isinstance(value, dict):
            merged["regions"] = {**base.get("regions", {}), **value}
        elif key == "closures" and isinstance(value, list):
            merged["closures"] = [*base.get("closures", []), *value]
        else:
            merged[key] = value
    return merged


def load_rules(extra: Path | None = None) -> CallingRules:
    """The shipped rules, with the deployer's file (if any) read on top of them.

    Raises ConfigError with one line naming the file and the field to fix.
    """
    base = read_yaml(SHIPPED_RULES).data
    if extra is None:
        return _validate(base, str(SHIPPED_RULES))
    data = read_yaml(extra).data
    if not isinstance(data, dict):
        raise ConfigError(f"{extra}: expected a mapping of calling rules at the top")
    unknown = set(data) - set(CallingRules.model_fields)
    if unknown:
        raise ConfigError(f"{extra}: {sorted(unknown)[0]}: not a calling-rules field")
    return _validate(merge(base, data), str(extra))


def window_notices(
    window: CallingWindow, places: list[tuple[str | None, str | None]], rules: CallingRules
) -> list[str]:
    """Where the campaign's window is wider than the law's hours, one sentence each.

    The window is kept as asked and the policy clips every call to both (the response
    says so rather than refusing: one campaign calls callees under different laws).
    """
    notes: list[str] = []
    seen: set[str] = set()
    for country, region in places:
        entries = rules.applicable(country, region)
        spans = [(key, e.hours) for key, e in entries if e.hours] or [
            ("default", rules.default_hours)
        ]
        for key, hours in spans:
            if key in seen or any(_contains(h, window) for h in hours):
                continue
            seen.add(key)
            shown = " or ".join(h.describe() for h in hours)
            notes.append(
                f"window {window.start:%H:%M}-{window.end:%H:%M} is wider than the legal "
                f"calling hours for {key} ({shown} at the callee's location): calls there "
                "start only within both"
            )
    return notes


def _contains(hours: LegalHours, window: CallingWindow) -> bool:
    return (
        window.start < window.end
        and hours.start <= window.start
        and window.end <= hours.end
        and set(window.days) <= set(hours.days)
    )
