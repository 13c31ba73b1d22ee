"""Console sign-in, cookies and CSRF, over HTTP without a browser."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from pydantic import SecretStr
from starlette.requests import Request

from dialtone.config import load_settings
from dialtone.console_web.session import is_tls

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
