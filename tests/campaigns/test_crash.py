"""kill -9 of `dialtone serve` at a named step mid-campaign, then a restart.

The API process (with its scheduler, dialer and webhook sender) runs as a real
subprocess against a SQLite file or a PostgreSQL database and the LiveKit double; this
test plays the reminder agents: it watches the double for dispatches, takes each
attempt's dial permit (naming its job, as the real agent does) and reports an outcome
over HTTP, one of eight kinds chosen by the phone's last digit, retrying both while
the API is down.

The kill is not left to timing: `DIALTONE_FAULTS` (see `dialtone.faults`) makes the
process SIGKILL itself at an exact step of the Nth attempt to reach it:

- `dispatch_sent`: LiveKit has the dispatch, the attempt is still `dispatching` (the
  restarted scheduler must adopt the room's dispatch, not send a second one);
- `permit_committed`: the permit is committed, its answer never sent (the agent's retry
  with the same job must be allowed, not strand the contact);
- `outcome_committed`: the outcome is committed, its answer never sent (the agent's
  retry must not record or emit it twice).

Afterwards every contact must be in the terminal state its outcome implies, no contact
may have been dispatched or dialled twice, and every outcome's signed webhook must have
arrived (at least once, one event id per attempt) although the process died between
outcomes and deliveries.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from dialtone.campaigns.webhooks import verify_signature
from tests.livekit_double import LiveKitDouble

from .conftest import BACKENDS, backend_url
from .test_webhooks import Receiver, receiver  # noqa: F401  (fixture)

TOKEN = "crash-test-token-k3Q9vX2mZ7pL4wR8nB6t"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N = 40
WEBHOOK_SECRET = "crash-test-webhook-secret-0123"
#: outcome by the phone's last digit, and the contact state it must end in (max_attempts 1)
OUTCOMES = {
    0: ("completed", "completed"),
    1: ("busy", "exhausted"),
    2: ("completed", "completed"),
    3: ("no_answer", "exhausted"),
    4: ("voicemail", "exhausted"),
    5: ("declined", "exhausted"),
    6: ("invalid_number", "failed"),
    7: ("opted_out", "dnc"),
    8: ("failed", "exhausted"),
    9: ("completed", "completed"),
}
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Ceilings, not timings: every wait below returns as soon as its condition holds, and
#: fails only past these, so a machine at load 6 (or 20) on 2 cores is slow, not red.
START_WITHIN = 240.0  # a `dialtone serve` to answer
SETTLE_WITHIN = 400.0  # the campaign to finish after the restart
#: the API's answers (a busy machine answers slowly; the agents retry on their own)
HTTP_TIMEOUT = 30.0


def wait_for(condition: Callable[[], bool], what: str, within: float = START_WITHIN) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone whose clock shows 12:xx at `now`: the calls fall inside the
    legal calling hours (08:00-21:00 at the callee's) whatever time the test runs."""
    hours = 12 - now.hour
    return f"Etc/GMT{-hours:+d}"


@contextmanager
def api_process(
    tmp: Path,
    double: LiveKitDouble,
    port: int,
    name: str,
    db_url: str,
    *,
    faults: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    # The legal hours hold (the campaign's zone shows midday, see `midday_zone`); the
    # test must not depend on the date either: no US holidays here.
    rules = tmp / "calling-rules.yaml"
    rules.write_text(
        "regions:\n  US:\n    source: crash test, any date\n"
        "    hours: [{start: '08:00', end: '21:00'}]\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DIALTONE_FAULTS"},
        "DIALTONE_CALLING_RULES": str(rules),
        **({"DIALTONE_FAULTS": faults} if faults else {}),
        "DIALTONE_API_TOKEN": TOKEN,
        "DIALTONE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # the test's receiver listens on this machine
        "DIALTONE_WEBHOOK_ALLOW": "127.0.0.1",
        "DIALTONE_DATA_DIR": str(tmp / "data"),
        "DIALTONE_DATABASE_URL": db_url,
        "LIVEKIT_URL": double.url,
        "LIVEKIT_API_KEY": double.api_key,
        "LIVEKIT_API_SECRET": double.api_secret,
        "PYTHONPATH": str(REPO),
        # the API checks a campaign's persona and trunk against what the workers use
        "DIALTONE_PERSONA_DIR": str(REPO / "personas"),
        "DIALTONE_TRUNKS_DIR": str(REPO / "trunks"),
    }
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialtone",
            "serve",
            "--port",
            str(port),
            "--tick",
            "0.05",
            "--cps",
            "20",
            "--max-concurrent",
            "10",
            "--lease",
            "2",
            "--call-timeout",
            "0.5",
        ],
        cwd=tmp,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert proc.poll() is None or faults, (tmp / f"{name}.log").read_text()
            try:
                answer = httpx.get(f"{base}/openapi.json", headers=AUTH, timeout=HTTP_TIMEOUT)
                return answer.status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, f"{name} to serve")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


class FakeAgents(threading.Thread):
    """Reminder agents: one per dispatch, each dials once and reports an outcome."""

    def __init__(self, double: LiveKitDouble, base: str) -> None:
        super().__init__(daemon=True)
        self.double = double
        self.base = base
        self.stop = threading.Event()
        self.seen: dict[str, float] = {}  # dispatch id -> when seen
        self.length: dict[str, float] = {}  # dispatch id -> how long its "call" lasts
        #: attempts the kill left unsettled: their calls outlast the dispatch lease, so the
        #: restarted scheduler must reconcile them while the agent is still in the room
        self.long_calls: set[str] = set()
        self.done: set[str] = set()
        self.permits: Counter[str] = Counter()  # phone -> dial permits granted
        self.errors: list[str] = []
        self.dialled: set[str] = set()  # attempts whose dial permit this agent holds

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=HTTP_TIMEOUT) as http:
            while not self.stop.is_set():
                with self.double.state.lock:
                    dispatches = list(self.double.state.dispatches.values())
                now = time.monotonic()
                for d in dispatches:
                    if d.id not in self.seen:
                        self.seen[d.id] = now
                        attempt = json.loads(d.metadata)["attempt_id"]
                        self.length[d.id] = 4.0 if attempt in self.long_calls else 0.3
                    if d.id in self.done or now - self.seen[d.id] < self.length[d.id]:
                        continue  # still "in the call"
                    try:
                        self.finish(http, d.id, json.loads(d.metadata))
                    except httpx.HTTPError:
                        continue  # the API is down (killed); try again later
                time.sleep(0.02)

    def attempt_seen(self, attempt: str) -> str:
        """What this agent did with an attempt, for a failure report."""
        with self.double.state.lock:
            dispatches = [
                d.id
                for d in self.double.state.dispatches.values()
                if json.loads(d.metadata)["attempt_id"] == attempt
            ]
        states = [
            ("done" if d in self.done else "in call" if d in self.seen else "unseen")
            for d in dispatches
        ]
        return f"dispatches {states}, permit {'held' if attempt in self.dialled else 'none'}"

    def finish(self, http: httpx.Client, dispatch_id: str, meta: dict[str, Any]) -> None:
        auth = {"Authorization": f"Bearer {meta['callback_token']}"}
        attempt = meta["attempt_id"]
        if attempt not in self.dialled:
            # the dispatch id stands for the job id: one agent job per dispatch
            permit = http.post(
                f"/v1/attempts/{attempt}/dial", headers=auth, json={"job_id": dispatch_id}
            )
            permit.raise_for_status()
            if permit.json()["allowed"]:
                self.permits[meta["phone"]] += 1
                self.dialled.add(attempt)
        # Like the real agent: once dialled, the outcome is reported until the API takes
        # it (the kill may land between the permit and the report).
        if attempt in self.dialled:
            outcome = OUTCOMES[int(meta["phone"][-1])][0]
            report = http.post(
                f"/v1/attempts/{attempt}/outcome", json={"outcome": outcome}, headers=auth
            )
            if report.status_code >= 500:
                return  # the API is going down; try again later, like the real agent
            if report.status_code != 200:
                self.errors.append(f"{attempt}: {report.status_code} {report.text}")
        self.done.add(dispatch_id)


def stuck_attempts(url: str) -> list[tuple[Any, ...]]:
    """The attempts of contacts still in flight: what a failure report needs to say."""
    db = create_engine(url)
    try:
        with db.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.id, a.status, a.dispatch_id, a.dial_started_at "
                    "FROM campaign_attempts a JOIN campaign_contacts c ON c.id = a.contact_id "
                    "WHERE c.state = 'in_flight' ORDER BY a.created_at"
                )
            )
            return [tuple(r) for r in rows]
    finally:
        db.dispose()


#: the step the first process dies at (its 5th arrival there), and what the kill must
#: have left half done, as a query that must find rows
FAULTS = {
    "dispatch_sent@5": "SELECT id FROM campaign_attempts WHERE status = 'dispatching'",
    "permit_committed@5": (
        "SELECT id FROM campaign_attempts WHERE dial_started_at IS NOT NULL "
        "AND status = 'dispatched'"
    ),
    "outcome_committed@5": "SELECT id FROM campaign_attempts WHERE status = 'finished'",
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_at_a_named_step_then_restart(
    request: pytest.FixtureRequest,
    backend: str,
    fault: str,
    tmp_path: Path,
    livekit_double: LiveKitDouble,
    receiver: Receiver,  # noqa: F811
) -> None:
    double = livekit_double
    db_url = backend_url(request, backend, tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    zone = midday_zone(datetime.now(UTC))
    now = datetime.now(ZoneInfo(zone))
    window = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%H:%M"),
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    campaign = {
        "name": "crash test",
        "persona": "reminder",
        "outbound_trunk": "ST_trunk1",
        "caller_id": "+15550100100",
        "timezone": zone,
        "window": window,
        "max_concurrent": 6,
        "retry": {"max_attempts": 1},
        "webhook_url": receiver.url,
        "contacts": [
            {"phone": f"+1555030{i:04d}", "name": f"P{i}", "variables": {"appointment": "Fri"}}
            for i in range(N)
        ],
    }
    agents = FakeAgents(double, base)
    agents.start()
    try:
        with api_process(tmp_path, double, port, "first", db_url, faults=fault) as first:
            made = httpx.post(
                f"{base}/v1/campaigns", json=campaign, headers=AUTH, timeout=HTTP_TIMEOUT
            )
            assert made.status_code == 201, made.text
            campaign_id = made.json()["id"]
            first.wait(SETTLE_WITHIN)  # it kills itself at the fault point
            assert first.returncode == -signal.SIGKILL

        # The crash really left work half done at that step.
        db = create_engine(db_url or f"sqlite:///{tmp_path / 'data' / 'dialtone.db'}")
        with db.connect() as conn:
            unsettled = set(conn.scalars(text(FAULTS[fault])))
            terminal = conn.scalar(
                text(
                    "SELECT count(*) FROM campaign_contacts WHERE state NOT IN "
                    "('pending', 'in_flight', 'retry_wait')"
                )
            )
        db.dispose()
        assert unsettled
        if fault.startswith("dispatch_sent"):
            agents.long_calls.update(unsettled)
        assert terminal is not None and terminal < N

        with api_process(tmp_path, double, port, "second", db_url):

            def finished() -> bool:
                try:
                    view = httpx.get(
                        f"{base}/v1/campaigns/{campaign_id}", headers=AUTH, timeout=HTTP_TIMEOUT
                    ).json()
                except httpx.HTTPError:
                    return False  # busy: ask again
                return bool(view["status"] == "completed")

            try:
                wait_for(finished, "every contact to reach a terminal state", SETTLE_WITHIN)
            except AssertionError:
                view = httpx.get(
                    f"{base}/v1/campaigns/{campaign_id}", headers=AUTH, timeout=HTTP_TIMEOUT
                ).json()
                stuck = stuck_attempts(db_url or f"sqlite:///{tmp_path / 'data' / 'dialtone.db'}")
                seen = {a: agents.attempt_seen(a) for a, *_ in stuck}
                raise AssertionError(
                    f"not finished: {view['contacts']}; stuck attempts (id, status, "
                    f"dispatch, dialled at): {stuck}; agent side: {seen} ({tmp_path})"
                ) from None
            view = httpx.get(
                f"{base}/v1/campaigns/{campaign_id}", headers=AUTH, timeout=HTTP_TIMEOUT
            ).json()
            results = httpx.get(
                f"{base}/v1/campaigns/{campaign_id}/results.csv", headers=AUTH, timeout=HTTP_TIMEOUT
            ).text

            def every_webhook() -> bool:
                kinds = {json.loads(b)["type"] for _, b in receiver.requests}
                outcomes = {
                    json.loads(b)["data"]["attempt_id"]
                    for _, b in receiver.requests
                    if json.loads(b)["type"] == "call.outcome"
                }
                return "campaign.finished" in kinds and len(outcomes) >= N

            wait_for(every_webhook, "every outcome's webhook", SETTLE_WITHIN)
    finally:
        agents.stop.set()
        agents.join(5)

    assert agents.errors == []
    counts = view["contacts"]
    assert counts["pending"] == counts["in_flight"] == counts["retry_wait"] == 0, counts
    assert sum(counts[s] for s in ("completed", "exhausted", "failed", "dnc")) == N, counts
    with double.state.lock:
        dispatches = list(double.state.dispatches.values())
    per_room = Counter(d.room for d in dispatches)
    per_phone = Counter(json.loads(d.metadata)["phone"] for d in dispatches)
    assert max(per_room.values()) == 1, "a room was dispatched twice"
    assert len(per_phone) == N and max(per_phone.values()) == 1, "a contact was dispatched twice"
    assert len(agents.permits) == N and max(agents.permits.values()) == 1, (
        "someone was dialled twice"
    )
    # each contact's final state follows its only outcome
    for line in results.splitlines()[1:]:
        row = line.split(",")
        phone, state, outcome = row[1], row[4], row[6]
        assert (outcome, state) == OUTCOMES[int(phone[-1])], line
    # every outcome became one signed webhook event (delivered at least once: the same
    # event id may arrive twice, never two events for one attempt)
    events: dict[str, dict[str, Any]] = {}
    for headers, body in receiver.requests:
        assert verify_signature(WEBHOOK_SECRET, headers["dialtone-signature"], body)
        event = json.loads(body)
        events[event["id"]] = event
    per_attempt = Counter(
        e["data"]["attempt_id"] for e in events.values() if e["type"] == "call.outcome"
    )
    assert len(per_attempt) == N and max(per_attempt.values()) == 1
    assert {
        (e["data"]["contact"]["phone"], e["data"]["outcome"])
        for e in events.values()
        if e["type"] == "call.outcome"
    } == {(p, OUTCOMES[int(p[-1])][0]) for p in per_phone}
