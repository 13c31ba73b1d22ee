"""The agent names this package's worker registers with LiveKit.

Kept apart from the worker so that `trunkspec` (which checks that a dispatch rule names
an agent somebody serves) and `campaigns` can know them without importing the worker.
"""

RECEPTIONIST = "receptionist"
REMINDER = "reminder"

KNOWN_AGENT_NAMES: frozenset[str] = frozenset({RECEPTIONIST, REMINDER})
