"""Telephony concerns that do not depend on the worker: caller identity, SIP details."""
