"""Applying a plan: how a failure from the server is shown."""

from __future__ import annotations


def test_an_empty_server_answer_points_at_the_url() -> None:
    """A proxy or a path in LIVEKIT_URL answers 404 with no body: "unknown:" said nothing."""
    from livekit.api.twirp_client import TwirpError

    from dialtone.trunkspec.apply import describe_error

    shown = describe_error(TwirpError("unknown", "", status=404))
    assert shown.startswith("unknown: an empty answer (HTTP 404)") and "LIVEKIT_URL" in shown
