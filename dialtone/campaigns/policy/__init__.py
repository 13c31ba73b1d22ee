"""The callee's law as one policy: legal hours, holidays, caps across campaigns.

`decide` is the pure function everything asks; `rules` loads the data it applies
(`rules.yaml` here, plus a deployer's own file); `location` finds where the callee is.
"""

from __future__ import annotations

from .decide import Decision, Reason, decide
from .location import CalleeLocation, Source, resolve
from .rules import CallingRules, load_rules

__all__ = [
    "CalleeLocation",
    "CallingRules",
    "Decision",
    "Reason",
    "Source",
    "decide",
    "load_rules",
    "resolve",
]
