"""`dialtone doctor`: checks for the first hour against a real LiveKit and carrier.

No check here has met a real deployment yet; they were built against the LiveKit
double in `tests/livekit_double/` (the README and `docs/doctor.md` say so).
"""
