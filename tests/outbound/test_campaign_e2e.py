"""A campaign created through the HTTP API runs to completion against the LiveKit double.

The real scheduler and dialer dispatch agent `reminder` through the real livekit-api
client; the test plays the worker: it takes every dispatch the double recorded and runs
the real reminder logic (`run_attempt`: dial permit, CreateSIPParticipant, SIP mapping,
report over HTTP) with each number's scripted SIP answer, and a scripted conversation
for the numbers a person or a mailbox answers. Every outcome kind happens, including a
trunk failure that pauses the campaign until an operator resumes it, and an agent that
dies without reporting (the store's deadline ends that attempt `unknown`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from livekit.api import LiveKitAPI
from sqlalchemy import Engine

from dialtone.campaigns.dialer import Dialer, DialerConfig, livekit_session
from dialtone.campaigns.scheduler import Scheduler, SchedulerConfig
from dialtone.campaigns.store import CampaignStore
from dialtone.wire import ReminderJob
from tests.campaigns.conftest import FakeClock
from tests.campaigns.helpers import contact_states
from tests.livekit_double import LiveKitDouble

from .harness import TOKEN, AgentDied, Callee, Played, make_trunk, play_job

AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: phone -> (SIP script for the double, or None: answers; the callee when answered)
NUMBERS: dict[str, tuple[dict[str, Any] | None, Callee]] = {
    "+15550200001": (None, Callee("hello?", ["yes i will be there"])),
    "+15550200002": (None, Callee("hi, this is bob", ["please stop calling me"])),
    "+15550200003": (None, Callee("hello", ["i need to cancel, i am away"])),
    "+15550200004": (None, Callee("hello", ["can i come another day"])),
    "+15550200005": (
        None,
        Callee("Hi, you've reached Dana. Please leave a message after the tone."),
    ),
    "+15550200006": ({"sip_status_code": 486, "sip_status": "Busy Here"}, Callee()),
    "+15550200007": ({"ringing_timeout": True}, Callee()),
    "+15550200008": ({"sip_status_code": 480, "sip_status": "Unavailable"}, Callee()),
    "+15550200009": ({"sip_status_code": 603, "sip_status": "Decline"}, Callee()),
    "+15550200010": ({"sip_status_code": 404, "sip_status": "Not Found"}, Callee()),
    # The carrier fails once: the campaign pauses, is resumed, and the person answers.
    "+15550200011": (
        {"sip_status_code": 503, "sip_status": "Service Unavailable", "times": 1},
        Callee("hello", ["yes i will be there"]),
    ),
    # The first agent dies mid-call; the second attempt reaches the person.
    "+15550200012": (None, Callee("hello", ["yes i will be there"], died=True)),
}


async def test_campaign_runs_to_completion_with_every_outcome(
    engine: Engine,
    store: CampaignStore,
    clock: FakeClock,
    api: httpx.AsyncClient,
    lk: LiveKitAPI,
    livekit_double: LiveKitDouble,
) -> None:
    trunk = await make_trunk(lk)
    for phone, (script, _) in NUMBERS.items():
        if script is not None:
            livekit_double.sip.script_call(phone, **script)
    response = await api.post(
        "/v1/campaigns",
        headers=AUTH,
        json={
            "name": "Dental reminders",
            "persona": "reminder",
            "outbound_trunk": trunk,
            "caller_id": "+15550100100",
            "timezone": "America/New_York",
            "window": {"start": "09:00", "end": "20:00", "days": ["wed", "thu"]},
            "max_concurrent": 20,
            "retry": {"max_attempts": 2},
            "contacts": [
                {"phone": phone, "name": f"Patient {i}", "variables": {"appointment": "Friday"}}
                for i, phone in enumerate(NUMBERS)
            ],
        },
    )
    assert response.status_code == 201, response.text
    campaign_id = response.json()["id"]

    session = livekit_session()
    scheduler = Scheduler(
        store,
        Dialer(
            LiveKitAPI(
                livekit_double.url,
                livekit_double.api_key,
                livekit_double.api_secret,
                session=session,
            ).agent_dispatch,
            DialerConfig(call_timeout=2.0, tries=2, backoff=0.01),
        ),
        SchedulerConfig(calls_per_second=1000, outcome_deadline=timedelta(minutes=30)),
        clock=clock,
        sleep=clock.sleep,
    )
    handled: set[str] = set()
    played: list[Played] = []
    died: set[str] = set()
    paused_seen: str | None = None
    try:
        for _ in range(60):
            await scheduler.tick()
            await scheduler.drain()
            for dispatch in list(livekit_double.state.dispatches.values()):
                if dispatch.id in handled:
                    continue
                handled.add(dispatch.id)
                assert dispatch.agent_name == "reminder"
                job = ReminderJob.from_metadata(dispatch.metadata)
                assert dispatch.room == f"dt-attempt-{job.attempt_id}"
                callee = NUMBERS[job.phone][1]
                if callee.died and job.phone not in died:
                    try:  # dialed, answered, never reported (unless the permit said no)
                        await play_job(job, lk, api, callee)
                    except AgentDied:
                        died.add(job.phone)
                    continue
                played.append(await play_job(job, lk, api, replace(callee, died=False)))
            view = (await api.get(f"/v1/campaigns/{campaign_id}", headers=AUTH)).json()
            if view["status"] == "paused":
                paused_seen = view["status_reason"]
                resumed = await api.post(f"/v1/campaigns/{campaign_id}/resume", headers=AUTH)
                assert resumed.status_code == 200
            if view["status"] == "completed":
                break
            clock.advance(minutes=20)
    finally:
        await session.close()

    view = (await api.get(f"/v1/campaigns/{campaign_id}", headers=AUTH)).json()
    assert view["status"] == "completed", view
    assert paused_seen is not None and "SIP 503" in paused_seen
    assert died == {"+15550200012"}

    # every outcome kind was reported or decided
    outcomes = Counter(view["outcomes"])
    assert set(outcomes) == {
        "completed",
        "opted_out",
        "voicemail",
        "busy",
        "no_answer",
        "declined",
        "invalid_number",
        "failed",
        "unknown",
    }, outcomes

    states = contact_states(store, campaign_id)
    assert states == {
        "+15550200001": "completed",
        "+15550200002": "dnc",
        "+15550200003": "completed",
        "+15550200004": "completed",
        "+15550200005": "exhausted",
        "+15550200006": "exhausted",
        "+15550200007": "exhausted",
        "+15550200008": "exhausted",
        "+15550200009": "exhausted",
        "+15550200010": "failed",
        "+15550200011": "completed",
        "+15550200012": "completed",
    }
    # opting out put the number on the do-not-call list
    dnc = await api.get("/v1/dnc/+15550200002", headers=AUTH)
    assert dnc.status_code == 200 and "opted out" in dnc.json()["reason"]

    # no number was dialed more often than its attempts allow, nobody twice at once
    dials = Counter(d.request.sip_call_to for d in livekit_double.sip.dials)
    assert dials["+15550200001"] == 1
    assert dials["+15550200006"] == 2  # busy, retried once (max_attempts 2)
    assert dials["+15550200010"] == 1  # invalid: never again
    assert dials["+15550200011"] == 2  # the 503 did not count against the contact
    assert dials["+15550200012"] == 2  # the dead agent's attempt, then the retry
    rows = {r.phone: r for r in store.results(campaign_id)}
    assert rows["+15550200011"].attempts == 1
    assert rows["+15550200003"].last_detail.startswith("cancel requested")
    assert rows["+15550200004"].last_detail.startswith("reschedule requested")
    assert "message left" in (rows["+15550200005"].last_detail or "")

    csv = await api.get(f"/v1/campaigns/{campaign_id}/results.csv", headers=AUTH)
    assert csv.status_code == 200 and "opted_out" in csv.text
