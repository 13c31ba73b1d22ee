"""Soak: 3 `dialtone serve` replicas on one PostgreSQL, kill -9 while they dial.

What runs:

- a throwaway PostgreSQL cluster (tests/postgres.py) and the LiveKit API double (a
  stand-in for LiveKit, started here; not LiveKit);
- 3 `dialtone serve` replicas on that one database, each with its scheduler, dialer and
  webhook sender, pacing one trunk at `--cps`;
- a fake reminder agent that runs the product's own attempt code for every dispatch
  (`dialtone.outbound.attempt.run_attempt` with the real `CampaignCallback`: the dial
  permit bound to the job, the opt-out call, the report retried until the deadline);
  only the SIP dial and the conversation are stand-ins. For `--pairs` of dispatches two
  agents join the room at once (two jobs asking for one permit); for `--agent-kills` the
  agent dies right after dialling (no report: the server must settle the attempt; the
  soak sends LiveKit's signed `room_finished` for its room 20 s later, as LiveKit would,
  which brings the attempt's deadline forward);
- a killer that SIGKILLs a random replica every `--kill-every` seconds (20-60 s by
  default) and restarts it on the same port.

It prints, for the run: double dials (an attempt dialled by two jobs, or twice), lost
contacts (ended in a state their answers do not explain, or an opt-out not on the
do-not-call list), stranded contacts (not finished when the run ends), duplicate events
(two event ids for one attempt's `call.outcome`), the peak dials per second per trunk
(at the fake SIP service, and dispatches per second as the agent saw them) against
`--cps`, and p50/p99 from dispatch to the outcome's webhook.

    .venv/bin/python bench/soak.py [--contacts 10000] [--cps 10] [--kill-every 20,60]

Persona budgets are shortened for the soak (ring 5 s, longest call 30 s); an attempt whose
agent died settles about 80 s later (the room's close, then the webhook's one-minute
grace), and its retry waits the calling policy's gap between two calls to one number.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from google.protobuf.json_format import MessageToJson  # noqa: E402
from livekit.api import AccessToken  # noqa: E402
from livekit.protocol.models import Room  # noqa: E402
from livekit.protocol.sip import CreateSIPParticipantRequest, SIPParticipantInfo  # noqa: E402
from livekit.protocol.webhook import WebhookEvent  # noqa: E402

from dialtone.campaigns.models import Outcome  # noqa: E402
from dialtone.outbound.attempt import run_attempt  # noqa: E402
from dialtone.outbound.callback import CampaignCallback, RetryPolicy  # noqa: E402
from dialtone.outbound.dial import ReportedOutcome  # noqa: E402
from dialtone.personas import PersonaBook  # noqa: E402
from dialtone.wire import ReminderJob, room_for  # noqa: E402
from tests.livekit_double import LiveKitDouble  # noqa: E402

TOKEN = "soak-token-0123456789abcdefGhJkLmNpQr"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "soak-webhook-secret-0123456789"
TRUNK = "ST_trunk1"
OPT_OUT_DIGIT = "7"
#: how long LiveKit keeps a room its last participant left before closing it (the soak's
#: stand-in: a real room's `departure_timeout` is 20 s by default)
EMPTY_ROOM_SECONDS = 20.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver(ThreadingHTTPServer):
    """The campaign's webhook endpoint: every delivery, with when it arrived."""

    request_queue_size = 256  # three senders post their batches at once

    def __init__(self) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.events.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def ready(self) -> bool:
        try:
            return (
                httpx.get(f"{self.base}/openapi.json", headers=AUTH, timeout=5).status_code == 200
            )
        except httpx.HTTPError:
            return False


@dataclass
class Agents:
    """The fake reminder agents: the product's attempt code around stand-in SIP and talk."""

    double: LiveKitDouble
    replicas: list[Replica]
    persona_dir: Path
    pairs: float
    agent_kills: float
    rng: random.Random
    seen: dict[str, float] = field(default_factory=dict)  # dispatch id -> first seen
    seen_attempt: dict[str, float] = field(default_factory=dict)  # attempt -> first seen
    dials: list[tuple[float, str, str, str]] = field(default_factory=list)  # t, attempt, job, trunk
    killed: set[str] = field(default_factory=set)  # attempts whose agent died after dialling
    rooms_finished: int = 0  # `room_finished` webhooks delivered for those rooms
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    client: httpx.AsyncClient | None = None

    async def watch(self, stop: asyncio.Event) -> None:
        book = PersonaBook.load(self.persona_dir, "reminder")
        # one client for every agent here (a real agent is one job per process); a client
        # per request would cost this one event loop more than the agents themselves
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        while not stop.is_set():
            with self.double.state.lock:
                dispatches = list(self.double.state.dispatches.values())
            for d in dispatches:
                if d.id in self.seen:
                    continue
                now = time.monotonic()
                self.seen[d.id] = now
                job = ReminderJob.from_metadata(d.metadata)
                self.seen_attempt.setdefault(job.attempt_id, now)
                jobs = 2 if self.rng.random() < self.pairs else 1
                for k in range(jobs):
                    task = asyncio.create_task(self.one(job, book, f"AJ_{d.id}_{k}"))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
            await asyncio.sleep(0.05)

    async def one(self, job: ReminderJob, book: PersonaBook, job_id: str) -> None:
        persona = book.pick(requested=job.persona)
        replica = self.replicas[hash(job_id) % len(self.replicas)]
        callback = CampaignCallback(
            replica.base,
            job.attempt_id,
            job.callback_token.get_secret_value(),
            job_id=job_id,
            client=self.client,
            policy=RetryPolicy(tries=8, backoff=0.2, backoff_max=2.0, timeout=5.0),
        )
        dies = self.rng.random() < self.agent_kills
        agents = self

        class Sip:
            async def create_sip_participant(
                self,
                create: CreateSIPParticipantRequest,
                *,
                timeout: float | None = None,  # noqa: ASYNC109 (the livekit-api signature)
            ) -> SIPParticipantInfo:
                agents.dials.append((time.monotonic(), job.attempt_id, job_id, create.sip_trunk_id))
                if dies:
                    agents.killed.add(job.attempt_id)
                    raise AgentDied
                await asyncio.sleep(0.2)  # ringing
                return SIPParticipantInfo(participant_identity="callee")

        async def converse() -> ReportedOutcome:
            await asyncio.sleep(agents.rng.uniform(0.3, 1.5))
            if job.phone.endswith(OPT_OUT_DIGIT):
                await callback.opt_out()  # as the agent does the moment it hears it
                return ReportedOutcome(Outcome.OPTED_OUT, "asked not to be called again")
            return ReportedOutcome(Outcome.COMPLETED, "confirmed")

        async def hang_up() -> None:
            return None

        try:
            await run_attempt(job, persona, callback, Sip(), converse, hang_up)
        except AgentDied:
            # killed mid-call: no report. LiveKit closes the emptied room and says so in
            # its webhook; the server then settles the attempt a minute later
            await self.room_finished(room_for(job.attempt_id))

    async def room_finished(self, room: str) -> None:
        """LiveKit's signed `room_finished` webhook, as LiveKit sends it once the room is
        empty (the double does not send webhooks), retried while replicas are down."""
        assert self.client is not None
        await asyncio.sleep(EMPTY_ROOM_SECONDS)
        body = MessageToJson(WebhookEvent(event="room_finished", room=Room(name=room)))
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        token = AccessToken(self.double.api_key, self.double.api_secret).with_sha256(digest)
        headers = {"Authorization": token.to_jwt(), "Content-Type": "application/webhook+json"}
        for _ in range(20):
            replica = self.rng.choice(self.replicas)
            try:
                sent = await self.client.post(
                    f"{replica.base}/v1/livekit/webhook", content=body, headers=headers
                )
                if sent.status_code == 200:
                    self.rooms_finished += 1
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)


class AgentDied(BaseException):
    """The agent process died right after dialling (a BaseException: nothing catches it)."""


def soak_personas(tmp: Path) -> Path:
    """The repository's personas with short calls, so a dead agent's attempt settles soon."""
    out = tmp / "personas"
    out.mkdir()
    for source in (REPO / "personas").glob("*.yaml"):
        data = yaml.safe_load(source.read_text())
        if "reminder" in data:
            data["reminder"].update(ring_seconds=5, max_call_seconds=30)
        (out / source.name).write_text(yaml.safe_dump(data))
    return out


def killer(replicas: list[Replica], every: tuple[float, float], stop: threading.Event) -> None:
    rng = random.Random(7)
    while not stop.wait(rng.uniform(*every)):
        victim = rng.choice(replicas)
        victim.kill()
        print(f"  kill -9 {victim.name} at {time.strftime('%H:%M:%S')}", flush=True)
        time.sleep(1.0)
        victim.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--cps", type=float, default=10.0, help="the trunk's calls per second")
    parser.add_argument(
        "--pace-jitter", type=float, default=0.1, help="the replicas' --pace-jitter (seconds)"
    )
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--kill-every", default="20,60", help="seconds between kills: lo,hi")
    parser.add_argument("--pairs", type=float, default=0.01, help="dispatches with two agents")
    parser.add_argument("--agent-kills", type=float, default=0.005, help="agents dying mid-call")
    parser.add_argument("--max-concurrent", type=int, default=60)
    parser.add_argument("--timeout", type=float, default=0, help="seconds (0: derived)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the agents' retry warnings are expected here
    from tests.postgres import running_cluster

    with running_cluster() as cluster, LiveKitDouble() as double:
        run(args, cluster.create_database(), double)


def run(args: argparse.Namespace, db_url: str, double: LiveKitDouble) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dialtone-soak-"))
    personas = soak_personas(tmp)
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "DIALTONE_API_TOKEN": TOKEN,
        "DIALTONE_WEBHOOK_SECRET": SECRET,
        "DIALTONE_WEBHOOK_ALLOW": "127.0.0.1",  # the receiver here is on loopback
        "DIALTONE_DATABASE_URL": db_url,
        "DIALTONE_LOG_LEVEL": "WARNING",
        "LIVEKIT_URL": double.url,
        "LIVEKIT_API_KEY": double.api_key,
        "LIVEKIT_API_SECRET": double.api_secret,
        "PYTHONPATH": str(REPO),
        "DIALTONE_PERSONA_DIR": str(personas),
        "DIALTONE_TRUNKS_DIR": str(REPO / "trunks"),
    }
    replicas = []
    for i in range(args.replicas):
        port = free_port()
        cmd = [sys.executable, "-m", "dialtone", "serve", "--port", str(port), "--tick", "0.2"]
        cmd += ["--cps", str(args.cps), "--max-concurrent", str(args.max_concurrent)]
        cmd += ["--pace-jitter", str(args.pace_jitter)]
        cmd += ["--lease", "3", "--call-timeout", "2"]
        data = tmp / f"r{i}"
        data.mkdir()
        replicas.append(
            Replica(
                f"replica-{i}", port, {**env, "DIALTONE_DATA_DIR": str(data)}, cmd, data / "log"
            )
        )
    for r in replicas:
        r.start()
    deadline = time.monotonic() + 300
    while not all(r.ready() for r in replicas):
        if time.monotonic() > deadline:
            for r in replicas:
                r.kill()
            raise SystemExit(f"the replicas did not start; see {tmp}")
        time.sleep(0.5)
    print(
        f"soak: {args.contacts} contacts, {len(replicas)} replicas on one PostgreSQL, "
        f"{args.cps:g} calls/s on {TRUNK} (pace jitter {args.pace_jitter:g} s), "
        f"kill -9 every {args.kill_every} s, "
        f"{args.pairs:.1%} two-agent rooms, {args.agent_kills:.1%} agents dying mid-call; "
        f"{os.cpu_count()} CPUs; logs in {tmp}",
        flush=True,
    )
    spec = {
        "name": "soak",
        "persona": "reminder",
        "outbound_trunk": TRUNK,
        "caller_id": "+15550100100",
        "timezone": "UTC",
        "window": {
            "start": "00:00",
            "end": "23:59",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        },
        "max_concurrent": args.max_concurrent,
        "daily_cap": max(1000, 3 * args.contacts),
        "retry": {"max_attempts": 3, "delays": {"unknown": 60}},
        "webhook_url": receiver.url,
        "contacts": [
            {"phone": f"+1555{i:07d}", "name": f"P{i}", "variables": {"appointment": "Fri"}}
            for i in range(args.contacts)
        ],
    }
    made = httpx.post(f"{replicas[0].base}/v1/campaigns", json=spec, headers=AUTH, timeout=120)
    if made.status_code != 201:
        for r in replicas:
            r.kill()
        raise SystemExit(f"the campaign was refused: {made.status_code} {made.text[:500]}")
    campaign_id = made.json()["id"]
    started = time.monotonic()
    lo, hi = (float(x) for x in args.kill_every.split(","))
    stop_kills = threading.Event()
    kills = threading.Thread(target=killer, args=(replicas, (lo, hi), stop_kills), daemon=True)
    kills.start()
    agents = Agents(double, replicas, personas, args.pairs, args.agent_kills, random.Random(11))
    # at the pace's average (83 % of --cps), plus the tail: an attempt whose agent died
    # settles at its deadline (about 2.5 min), and its retry waits the calling policy's
    # minimum gap between two calls to one number (10 min)
    timeout = args.timeout or args.contacts / (args.cps * 0.83) * 1.5 + 1200
    try:
        asyncio.run(drive(agents, replicas, campaign_id, timeout))
    finally:
        stop_kills.set()
        kills.join()
    try:
        took = time.monotonic() - started
        # every outcome's webhook: the senders retry with backoff after the kills
        wait_for_webhooks(receiver, replicas, db_url, campaign_id, within=180)
    finally:
        for r in replicas:
            r.kill()
    report(args, agents, receiver, db_url, campaign_id, took)


async def drive(agents: Agents, replicas: list[Replica], campaign_id: str, within: float) -> None:
    stop = asyncio.Event()
    watcher = asyncio.create_task(agents.watch(stop))
    end = time.monotonic() + within
    async with httpx.AsyncClient(headers=AUTH, timeout=5) as http:
        while time.monotonic() < end:
            await asyncio.sleep(2)
            for r in replicas:
                try:
                    view = (await http.get(f"{r.base}/v1/campaigns/{campaign_id}")).json()
                except (httpx.HTTPError, ValueError):
                    continue
                if view.get("status") == "completed":
                    end = 0
                break
    stop.set()
    await watcher
    for task in list(agents.tasks):
        task.cancel()


def wait_for_webhooks(
    receiver: Receiver, replicas: list[Replica], db_url: str, campaign_id: str, *, within: float
) -> None:
    """Until every finished attempt's `call.outcome` arrived (or `within` seconds)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            with engine.connect() as conn:
                pending = conn.scalar(
                    text(
                        "SELECT count(*) FROM webhook_outbox "
                        "WHERE campaign_id = :c AND status = 'pending'"
                    ),
                    {"c": campaign_id},
                )
            if not pending:
                return
            time.sleep(1)
    finally:
        engine.dispose()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    args: argparse.Namespace,
    agents: Agents,
    receiver: Receiver,
    db_url: str,
    campaign_id: str,
    took: float,
) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        people = list(
            conn.execute(
                text("SELECT phone, state FROM campaign_contacts WHERE campaign_id = :c"),
                {"c": campaign_id},
            )
        )
        listed = set(conn.scalars(text("SELECT phone FROM dnc")))
    engine.dispose()
    by_attempt_jobs: dict[str, set[str]] = defaultdict(set)
    dial_count: Counter[str] = Counter()
    per_second: Counter[int] = Counter()
    for t, attempt, job, _trunk in agents.dials:
        by_attempt_jobs[attempt].add(job)
        dial_count[attempt] += 1
        per_second[int(t)] += 1
    double_dials = sum(1 for a, n in dial_count.items() if n > 1 or len(by_attempt_jobs[a]) > 1)
    with agents.double.state.lock:
        created = [d.state.created_at for d in agents.double.state.dispatches.values()]
    sent_per_second = Counter(ns // 1_000_000_000 for ns in created)
    stranded = [p for p in people if p.state in ("pending", "in_flight", "retry_wait")]
    lost = []
    for p in people:
        if p.state in ("pending", "in_flight", "retry_wait"):
            continue
        expected = "dnc" if p.phone.endswith(OPT_OUT_DIGIT) else "completed"
        if p.state != expected and p.state != "exhausted":
            lost.append(p)
        if p.phone.endswith(OPT_OUT_DIGIT) and p.state == "dnc" and p.phone not in listed:
            lost.append(p)
    events: dict[str, set[str]] = defaultdict(set)
    arrived: dict[str, float] = {}
    for t, e in receiver.events:
        if e.get("type") == "call.outcome":
            attempt = e["data"]["attempt_id"]
            events[attempt].add(e["id"])
            arrived.setdefault(attempt, t)
    duplicates = sum(1 for ids in events.values() if len(ids) > 1)
    latencies = [arrived[a] - s for a, s in agents.seen_attempt.items() if a in arrived]
    states = Counter(p.state for p in people)
    print(f"ran {took:.0f} s; contacts by state: {dict(states)}")
    print(
        f"dispatches seen {len(agents.seen)}, dials {len(agents.dials)}, "
        f"agents killed mid-call {len(agents.killed)} (room_finished webhooks delivered: "
        f"{agents.rooms_finished})"
    )
    print(f"double dials: {double_dials}")
    print(f"lost contacts: {len(lost)}")
    print(f"stranded contacts: {len(stranded)}")
    print(f"duplicate events: {duplicates} (of {len(events)} attempts with an outcome event)")
    print(
        f"peak dispatches per second on {TRUNK} (received by the LiveKit double): "
        f"{max(sent_per_second.values(), default=0)} (limit {args.cps:g}); seconds above "
        f"the limit: {sum(1 for n in sent_per_second.values() if n > args.cps)}"
    )
    print(
        f"peak dials per second at the fake agent (its own scheduling adds jitter): "
        f"{max(per_second.values(), default=0)}; seconds above the limit: "
        f"{sum(1 for n in per_second.values() if n > args.cps)}"
    )
    print(
        f"dispatch to outcome webhook: p50 {percentile(latencies, 0.5):.2f} s, "
        f"p99 {percentile(latencies, 0.99):.2f} s"
    )


if __name__ == "__main__":
    main()
