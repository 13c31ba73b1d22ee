"""Console sign-in, cookies and CSRF, over HTTP without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.requests import Request

from dialtone.accounts.audit import AuditLog
from dialtone.accounts.roles import Role
from dialtone.accounts.sessions import SessionStore
from dialtone.accounts.throttle import SignInThrottle
from dialtone.accounts.users import UserStore
from dialtone.config import load_settings
from dialtone.console_web import install_console
from dialtone.console_web.session import Accounts, is_tls
from dialtone.db.engine import new_engine
from dialtone.http.server import create_app
from tests.accounts.conftest import CHEAP

from .conftest import TOKEN, Console


def _signed_in(console: Console) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=console.url, follow_redirects=False)
    page = client.get("/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert nonce is not None
    done = client.post("/login", data={"password": TOKEN, "csrf": nonce.group(1)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http here; see the forwarded-proto test
    home = client.get("/")
    assert home.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf is not None
    return client, csrf.group(1)


def test_pages_need_a_session_and_a_wrong_password_is_refused(console: Console) -> None:
    with httpx.Client(base_url=console.url, follow_redirects=False) as client:
        for path in ("/", "/calls", f"/calls/{console.call_id}", "/messages", "/campaigns", "/dnc"):
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/login", path
        page = client.get("/login")
        nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert nonce is not None
        wrong = client.post("/login", data={"password": "nope", "csrf": nonce.group(1)})
        assert wrong.status_code == 401 and "set-cookie" not in {
            k for k, v in wrong.headers.items() if "dialtone_console=" in v
        }
        forged = client.get("/", cookies={"dialtone_console": "1.abc.def"})
        assert forged.status_code == 303


def test_posts_without_the_csrf_token_change_nothing(console: Console) -> None:
    client, csrf = _signed_in(console)
    refused = client.post(f"/messages/{console.message_id}/handled", data={})
    assert refused.status_code == 403
    assert "Mark handled" in client.get("/messages").text
    done = client.post(f"/messages/{console.message_id}/handled", data={"csrf": csrf})
    assert done.status_code == 303
    assert "Nothing waiting" in client.get("/messages").text
    client.close()


def test_sign_out_ends_the_session_in_the_browser(console: Console) -> None:
    client, csrf = _signed_in(console)
    out = client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303 and 'dialtone_console=""' in out.headers["set-cookie"]
    client.cookies.delete("dialtone_console")
    assert client.get("/").status_code == 303
    client.close()


def _request(scheme: str, forwarded: str | None) -> Request:
    headers = [] if forwarded is None else [(b"x-forwarded-proto", forwarded.encode())]
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "server": ("console.test", 443),
            "path": "/",
            "headers": headers,
            "query_string": b"",
        }
    )


def test_the_cookie_is_secure_over_tls_or_behind_a_trusted_proxy(tmp_path: Path) -> None:
    plain = load_settings(api_token=SecretStr(TOKEN), data_dir=tmp_path)
    trusting = load_settings(
        api_token=SecretStr(TOKEN), data_dir=tmp_path, trust_forwarded_proto=True
    )
    assert is_tls(_request("https", None), plain)
    assert not is_tls(_request("http", "https"), plain)  # a client's say-so is not enough
    assert is_tls(_request("http", "https"), trusting)
    assert not is_tls(_request("http", "http"), trusting)


def test_the_recording_is_served_to_a_session_not_to_a_bearer_token(console: Console) -> None:
    path = f"/calls/{console.call_id}/recording"
    with httpx.Client(base_url=console.url, follow_redirects=False) as anonymous:
        refused = anonymous.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 303 and refused.headers["location"] == "/login"
    client, _ = _signed_in(console)
    try:
        whole = client.get(path)
        assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
        api = client.get(
            f"/v1/calls/{console.call_id}/recording", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert api.content == whole.content  # the same bytes as the API's
        part = client.get(path, headers={"Range": "bytes=44-"})
        assert part.status_code == 206 and part.content == whole.content[44:]
        assert client.get(f"/calls/{console.call_id}").text.count("<audio controls") == 1
        assert client.get("/calls/nosuchcall/recording").status_code == 404
    finally:
        client.close()


def _login(client: httpx.Client | TestClient, password: str, name: str = "") -> httpx.Response:
    page = client.get("/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert nonce is not None
    return client.post("/login", data={"name": name, "password": password, "csrf": nonce.group(1)})


def test_sign_out_ends_the_session_on_the_server(console: Console) -> None:
    client, csrf = _signed_in(console)
    copied = client.cookies["dialtone_console"]
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=console.url, follow_redirects=False) as thief:
        thief.cookies.set("dialtone_console", copied)
        assert thief.get("/").status_code == 303  # the copied cookie opens nothing
        refused = thief.post("/dnc", data={"csrf": csrf, "phone": "+15550100777"})
        assert refused.status_code == 401
    client.close()


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Accounts, _Clock]]:
    """The console on a clock the test moves, with a manager and a staff member."""
    monkeypatch.chdir(tmp_path)
    engine = new_engine(f"sqlite:///{tmp_path / 'people.db'}")
    clock = _Clock()
    settings = load_settings(api_token=SecretStr(TOKEN), data_dir=tmp_path / "data")
    app = create_app(settings, engine, clock=clock)
    accounts = Accounts(
        users=UserStore(engine, clock=clock, hasher=CHEAP),
        sessions=SessionStore(engine, clock=clock),
        throttle=SignInThrottle(engine, clock=clock),
        audit=AuditLog(engine, clock=clock),
    )
    install_console(app, accounts=accounts)
    accounts.users.add("dana", Role.MANAGER, MANAGER_PASSWORD, actor="cli:test")
    accounts.users.add("lee", Role.STAFF, STAFF_PASSWORD, actor="cli:test")
    with TestClient(app, follow_redirects=False) as client:
        yield client, accounts, clock
    engine.dispose()


MANAGER_PASSWORD = "plum-orchard-Seven-42"
STAFF_PASSWORD = "harbour-lights-Nine-17"


def test_wrong_passwords_are_throttled_and_the_right_one_works_afterwards(
    people: tuple[TestClient, Accounts, _Clock],
) -> None:
    client, accounts, clock = people
    answers = [_login(client, "not-it-at-all", name="dana").status_code for _ in range(12)]
    assert answers[:6] == [401] * 6 and 429 in answers[6:]  # five free, then waits
    throttled = _login(client, MANAGER_PASSWORD, name="dana")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    assert "Too many attempts" in throttled.text
    clock.now += timedelta(seconds=61)
    assert _login(client, MANAGER_PASSWORD, name="dana").status_code == 303
    assert client.get("/").status_code == 200
    failed = [e for e in accounts.audit.recent() if e.action == "sign-in.failed"]
    assert failed and all(e.actor == "dana" for e in failed)


def test_staff_read_messages_and_calls_but_not_campaigns_or_dnc(
    people: tuple[TestClient, Accounts, _Clock],
) -> None:
    client, _, _ = people
    assert _login(client, STAFF_PASSWORD, name="lee").status_code == 303
    for path in ("/", "/calls", "/messages"):
        assert client.get(path).status_code == 200, path
    for path in ("/campaigns", "/dnc", "/audit"):
        assert client.get(path).status_code == 403, path
    page = client.get("/messages").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert (
        client.post("/dnc", data={"csrf": csrf.group(1), "phone": "+15550100777"}).status_code
        == 403
    )
    assert "Do-not-call" not in page  # not offered in the menu either


def test_a_reset_ends_open_sessions_and_every_change_is_audited(
    people: tuple[TestClient, Accounts, _Clock],
) -> None:
    client, accounts, _ = people
    assert _login(client, MANAGER_PASSWORD, name="dana").status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/dnc").text)
    assert csrf is not None
    added = client.post(
        "/dnc", data={"csrf": csrf.group(1), "phone": "+15550100777", "reason": "asked"}
    )
    assert added.status_code == 200
    confirm = client.get("/dnc/+15550100777/remove")
    assert confirm.status_code == 200 and "asked" in confirm.text
    removed = client.post("/dnc/+15550100777/remove", data={"csrf": csrf.group(1)})
    assert "may be called again" in removed.text and 'id="dnc-undo"' in removed.text
    undone = client.post(
        "/dnc",
        data={"csrf": csrf.group(1), "phone": "+15550100777", "reason": "asked", "undo": "1"},
    )
    assert "is back on the list" in undone.text
    audit = client.get("/audit").text
    for words in (
        "Added to do-not-call",
        "Removed from do-not-call",
        "Undid a do-not-call removal",
    ):
        assert words in audit
    actions = [(e.actor, e.action) for e in accounts.audit.recent(limit=4)]
    assert actions[:3] == [("dana", "dnc.undo-remove"), ("dana", "dnc.remove"), ("dana", "dnc.add")]

    accounts.users.reset("dana", "a-Different-phrase-88", actor="cli:test")
    assert client.get("/").status_code == 303  # signed out everywhere


def test_the_api_token_signs_in_the_operator_as_a_manager(
    people: tuple[TestClient, Accounts, _Clock],
) -> None:
    client, accounts, _ = people
    assert _login(client, TOKEN).status_code == 303
    assert client.get("/dnc").status_code == 200
    assert accounts.audit.recent(limit=1)[0].actor == "operator"


def test_changes_through_the_api_are_in_the_audit_log_too(
    people: tuple[TestClient, Accounts, _Clock],
) -> None:
    client, accounts, _ = people
    auth = {"Authorization": f"Bearer {TOKEN}"}
    added = client.post("/v1/dnc", json={"phones": ["+15550100888"], "reason": "api"}, headers=auth)
    assert added.status_code == 200, added.text
    assert client.delete("/v1/dnc/+15550100888", headers=auth).status_code == 204
    entries = [(e.actor, e.action, e.target) for e in accounts.audit.recent(limit=2)]
    assert entries == [
        ("api token", "dnc.remove", "+15550100888"),
        ("api token", "dnc.add", "+15550100888"),
    ]
