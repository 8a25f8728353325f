"""Redirect chains, cookies and the login session, and every kind of authentication."""

from __future__ import annotations

import time

import httpx
import pytest
import requests


@pytest.mark.parametrize("prefix", ["/redirect", "/relative-redirect", "/absolute-redirect"])
def test_redirect_chains_end_on_get(base_url: str, key: str, prefix: str) -> None:
    response = requests.get(f"{base_url}{prefix}/3", headers={"X-Client-Key": key}, timeout=10)
    assert response.status_code == 200 and response.url == f"{base_url}/get"
    assert [r.status_code for r in response.history] == [302, 302, 302]
    locations = [r.headers["Location"] for r in response.history]
    if prefix == "/absolute-redirect":
        assert all(location.startswith(base_url) for location in locations)
    else:
        assert locations[-1] == "/get"


def test_redirect_can_use_absolute_urls(client: httpx.Client, base_url: str) -> None:
    assert client.get("/redirect/2?absolute=true").headers["location"] == f"{base_url}/absolute-redirect/1"


def test_absolute_redirects_ignore_a_foreign_host_header(client: httpx.Client, base_url: str) -> None:
    location = client.get("/absolute-redirect/2", headers={"Host": "evil.example"}).headers["location"]
    assert location == f"{base_url}/absolute-redirect/1"


def test_too_many_redirects_is_the_clients_problem(base_url: str) -> None:
    with pytest.raises(requests.TooManyRedirects):
        requests.get(f"{base_url}/redirect/31", timeout=10)  # allowed by the server, refused by requests


@pytest.mark.parametrize(("status", "method_after"), [(302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")])
def test_redirect_to_keeps_or_changes_the_method(base_url: str, status: int, method_after: str) -> None:
    response = requests.post(f"{base_url}/redirect-to", params={"url": "/anything", "status_code": status},
                             json={"a": 1}, timeout=10)
    assert response.json()["method"] == method_after


@pytest.mark.parametrize("url", ["/get", "http://127.0.0.1:1/x", "http://localhost/x", "http://[::1]/x"])
def test_redirect_to_accepts_local_targets(client: httpx.Client, url: str) -> None:
    response = client.get("/redirect-to", params={"url": url})
    assert response.status_code == 302 and response.headers["location"] == url


def test_cookies_set_read_delete(base_url: str) -> None:
    with requests.Session() as session:
        assert session.get(f"{base_url}/cookies/set?flavour=oat&size=large", timeout=10).json() == {
            "cookies": {"flavour": "oat", "size": "large"}}
        assert session.get(f"{base_url}/cookies/set/colour/blue", timeout=10).json()["cookies"]["colour"] == "blue"
        assert session.get(f"{base_url}/cookies/delete?flavour", timeout=10).json() == {
            "cookies": {"colour": "blue", "size": "large"}}


@pytest.mark.parametrize("how", ["data", "json"])
def test_login_gives_a_session_cookie_for_the_dashboard(base_url: str, key: str, how: str) -> None:
    with requests.Session() as session:
        session.headers["X-Client-Key"] = key
        assert session.get(f"{base_url}/dashboard", timeout=10).json()["error"] == "login_required"
        login = session.post(f"{base_url}/login", **{how: {"username": "learner", "password": "hunter2"}}, timeout=10)
        assert login.json() == {"logged_in": True, "user": "learner"}
        assert "HttpOnly" in login.headers["Set-Cookie"]
        assert session.get(f"{base_url}/dashboard", timeout=10).json()["user"] == "learner"
        session.post(f"{base_url}/logout", timeout=10)
        assert session.get(f"{base_url}/dashboard", timeout=10).status_code == 401


def test_login_rejects_wrong_passwords_and_forged_cookies(base_url: str) -> None:
    wrong = requests.post(f"{base_url}/login", data={"username": "learner", "password": "guess"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"
    forged = requests.get(f"{base_url}/dashboard", cookies={"session": "made-up"}, timeout=10)
    assert forged.status_code == 401 and forged.json()["error"] == "session_unknown"


def test_session_ids_are_repeatable_per_client_key(base_url: str, key: str) -> None:
    def login() -> str:
        requests.post(f"{base_url}/__admin/reset", headers={"X-Client-Key": key}, timeout=10)
        response = requests.post(f"{base_url}/login", data={"username": "learner", "password": "hunter2"},
                                 headers={"X-Client-Key": key}, timeout=10)
        return response.cookies["session"]

    assert login() == login()


@pytest.mark.parametrize(
    ("path", "auth", "status"),
    [("/basic-auth/ada/s3cret", ("ada", "s3cret"), 200), ("/basic-auth/ada/s3cret", ("ada", "wrong"), 401),
     ("/basic-auth/ada/s3cret", None, 401), ("/hidden-basic-auth/ada/s3cret", ("ada", "s3cret"), 200),
     ("/hidden-basic-auth/ada/s3cret", ("ada", "wrong"), 404)],
)
def test_basic_auth(client: httpx.Client, path: str, auth: tuple[str, str] | None, status: int) -> None:
    response = client.get(path, auth=auth)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="mock-server"'
    if status == 200:
        assert response.json() == {"authenticated": True, "user": "ada"}


def token(client: httpx.Client, **extra: str) -> dict:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "course",
                                                 "client_secret": "course-secret", **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_bearer_accepts_issued_tokens_only(client: httpx.Client) -> None:
    issued = token(client)
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600
    assert client.get("/bearer", headers={"Authorization": f"Bearer {issued['access_token']}"}).json() == {
        "authenticated": True, "client_id": "course"}
    missing = client.get("/bearer")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="mock-server"'
    made_up = client.get("/bearer", headers={"Authorization": "Bearer not-a-real-token"})
    assert made_up.status_code == 401 and 'error="invalid_token"' in made_up.headers["www-authenticate"]


def test_tokens_expire(client: httpx.Client) -> None:
    issued = token(client, expires_in="1")
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    assert client.get("/bearer", headers=headers).status_code == 200
    time.sleep(1.1)
    expired = client.get("/bearer", headers=headers)
    assert expired.status_code == 401 and expired.json()["error"] == "token_expired"


def test_token_endpoint_accepts_basic_client_auth_and_refuses_bad_secrets(client: httpx.Client) -> None:
    good = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("course", "course-secret"))
    assert good.status_code == 200
    bad = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("course", "nope"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


@pytest.mark.parametrize(("headers", "status"), [({"X-API-Key": "course-api-key"}, 200), ({"X-API-Key": "x"}, 403),
                                                 ({}, 401)])
def test_api_key(client: httpx.Client, headers: dict[str, str], status: int) -> None:
    assert client.get("/api-key", headers=headers).status_code == status


def sign(method: str, target: str, body: bytes = b"") -> str:
    import hashlib
    import hmac

    return hmac.new(b"course-signing-secret", f"{method}\n{target}\n".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("method", "target", "body"), [("GET", "/signed", b""), ("GET", "/signed?a=1&b=%2F", b""),
                                                        ("POST", "/signed", b'{"amount": 5}')])
def test_signed_requests_are_accepted(client: httpx.Client, method: str, target: str, body: bytes) -> None:
    response = client.request(method, target, content=body, headers={"X-Signature": sign(method, target, body)})
    assert response.status_code == 200, response.text
    assert response.json()["signed_string"] == f"{method}\n{target}\n" + body.decode()


def test_bad_or_missing_signatures_are_refused_with_what_was_signed(client: httpx.Client) -> None:
    wrong = client.post("/signed", content=b"changed", headers={"X-Signature": sign("POST", "/signed", b"original")})
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_signature"
    assert wrong.json()["signed_string"] == "POST\n/signed\nchanged"
    missing = client.get("/signed")
    assert missing.status_code == 401 and missing.json()["error"] == "missing_signature"


def test_a_token_reissued_after_a_reset_gets_a_fresh_expiry(client: httpx.Client) -> None:
    first = token(client, expires_in="1")
    time.sleep(1.1)
    client.post("/__admin/reset")
    again = token(client, expires_in="1")
    assert again["access_token"] == first["access_token"], "tokens are seeded, so they repeat after a reset"
    assert client.get("/bearer", headers={"Authorization": f"Bearer {again['access_token']}"}).status_code == 200
