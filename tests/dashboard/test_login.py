"""Login mode: the flow in a real browser, CSRF, no user enumeration, rate limit, cookie flags,
and the JSON API keeping its basic auth."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode

import pytest

from tests.dashboard.browser import screenshot_dir
from tests.dashboard.conftest import PASSWORD
from tests.webhook_client import basic, get
from tradeexecutor.dashboard.auth import passwords
from tradeexecutor.dashboard.auth.ratelimit import LoginRateLimiter


@pytest.fixture(autouse=True)
def fresh_limiter(login_server):
    login_server.dashboard.login.limiter = LoginRateLimiter()


def fill_login(page, username: str, password: str) -> None:
    page.evaluate(
        f"document.querySelector('input[name=username]').value = {username!r};"
        f"document.querySelector('input[name=password]').value = {password!r};"
    )
    page.click_and_wait("form[action='/login'] button[type=submit]")


def test_login_flow_in_the_browser(login_server, browser) -> None:
    url = login_server.server.url
    page = browser.new_page()
    page.navigate(url + "/fund?window=all")
    assert page.evaluate("location.pathname + location.search") == "/login?next=%2Ffund%3Fwindow%3Dall"
    page.settle()
    assert page.errors == []
    page.screenshot(screenshot_dir() / "login.png")

    fill_login(page, "alice", "not the password")
    assert page.evaluate("document.getElementById('login-error').innerText") == "Wrong username or password."
    assert page.evaluate("location.pathname") == "/login"

    fill_login(page, "alice", PASSWORD)
    assert page.evaluate("location.pathname + location.search") == "/fund?window=all"
    page.evaluate("window.dashboardReady")
    page.settle()
    assert page.errors == []
    assert page.evaluate("document.querySelector('header .who .muted').innerText") == "alice"
    session = next(c for c in page.cookies() if c["name"] == "te_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Lax" and session["secure"] is False

    # the JSON API keeps basic auth: a browser session is not enough
    with_session = {"Cookie": f"te_session={session['value']}"}
    assert get(login_server.server.port, "/status", with_session).status == 401
    assert get(login_server.server.port, "/", with_session).status == 200
    assert get(login_server.server.port, "/status", basic("ops", "api-password-1")).status == 200

    page.click_and_wait("header form[action='/logout'] button")
    assert page.evaluate("location.pathname") == "/login"
    page.navigate(url + "/ledger")
    assert page.evaluate("location.pathname") == "/login"


def login_form(port: int) -> tuple[str, str]:
    """(csrf cookie, token from the form) of a fresh GET /login."""
    answer = get(port, "/login")
    cookie = re.search(r"te_csrf=([^;]+)", answer.headers["Set-Cookie"]).group(1)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', answer.body).group(1).decode()
    return cookie, token


def post_login(
    port: int,
    fields: dict[str, str],
    cookie: str | None,
    *,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict, bytes]:
    """POST /login over a real connection from `source` (any 127.x.y.z address is this machine)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if cookie:
        headers["Cookie"] = f"te_csrf={cookie}"
    conn.request("POST", "/login", body=urlencode(fields), headers=headers)
    response = conn.getresponse()
    result = (response.status, dict(response.getheaders()), response.read())
    conn.close()
    return result


def error_text(body: bytes) -> str:
    match = re.search(rb'id="login-error" role="alert">([^<]*)<', body)
    return match.group(1).decode() if match else ""


def test_login_form_needs_its_csrf_token(login_server) -> None:
    port = login_server.server.port
    cookie, token = login_form(port)
    good = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    status, _, body = post_login(port, {**good, "csrf_token": ""}, cookie)
    assert status == 403 and "came from another site" in error_text(body)
    status, _, _ = post_login(port, good, None)  # a cross-site form cannot set our cookie
    assert status == 403
    other_cookie, _ = login_form(port)
    status, _, _ = post_login(port, good, other_cookie)  # a token minted for another browser
    assert status == 403
    status, headers, _ = post_login(port, good, cookie)
    assert status == 303 and headers["Location"] == login_server.server.url + "/"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]


def test_logout_needs_its_csrf_token(login_server) -> None:
    port = login_server.server.port
    cookie, token = login_form(port)
    _, headers, _ = post_login(port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie)
    session = re.search(r"te_session=([^;]+)", headers["Set-Cookie"]).group(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/logout",
        body="",
        headers={"Cookie": f"te_session={session}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert conn.getresponse().status == 403
    conn.close()
    assert get(port, "/", {"Cookie": f"te_session={session}"}).status == 200  # still logged in
    assert get(port, "/", {"Cookie": f"te_session={session[:-2]}xx"}).status == 303  # forged: to login


def test_unknown_user_and_wrong_password_look_the_same(login_server, monkeypatch) -> None:
    port = login_server.server.port
    calls: list[int] = []
    real = passwords.hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(kwargs.get("n", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords.hashlib, "scrypt", counting)
    answers = []
    for username in ("alice", "nobody-here"):
        cookie, token = login_form(port)
        calls.clear()
        status, _, body = post_login(
            port, {"username": username, "password": "wrong password!", "csrf_token": token}, cookie
        )
        answers.append(
            (status, error_text(body), len(calls), re.sub(rb'name="username" value="[^"]*"', b"", body))
        )
        # same cookie nonce, same token: the rest of the page is byte for byte the same
    assert answers[0][0] == answers[1][0] == 200
    assert answers[0][1] == answers[1][1] == "Wrong username or password."
    assert answers[0][2] == answers[1][2] == 1  # one scrypt derivation either way (same time)
    first, second = (re.sub(rb'name="csrf_token" value="[^"]*"', b"", a[3]) for a in answers)
    assert first == second


def test_failed_logins_are_rate_limited_per_address_and_username(login_server) -> None:
    port = login_server.server.port
    cookie, token = login_form(port)
    attacker = "127.0.0.2"
    for _ in range(5):
        status, _, _ = post_login(
            port,
            {"username": "alice", "password": "guess guess", "csrf_token": token},
            cookie,
            source=attacker,
        )
        assert status == 200
    status, headers, body = post_login(
        port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie, source=attacker
    )
    assert status == 429 and int(headers["Retry-After"]) > 0  # even the right password, from there
    assert "Too many failed logins" in error_text(body)

    # the owner, from their own address, is not locked out by someone else's failures
    status, headers, _ = post_login(
        port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie
    )
    assert status == 303 and "te_session=" in headers["Set-Cookie"]
    # ... nor are other users, from the attacker's address, until that address fails 20 times in all
    status, _, body = post_login(
        port, {"username": "bob", "password": "guess guess", "csrf_token": token}, cookie, source=attacker
    )
    assert status == 200 and error_text(body) == "Wrong username or password."
    for i in range(14):
        post_login(
            port, {"username": f"user{i}", "password": "guess", "csrf_token": token}, cookie, source=attacker
        )
    status, _, _ = post_login(
        port, {"username": "carol", "password": "guess guess", "csrf_token": token}, cookie, source=attacker
    )
    assert status == 429
    status, _, _ = post_login(port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie)
    assert status == 303


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Referer": "https://evil.example/page.html"}, False),
        ({"Origin": "https://evil.example", "Referer": "http://127.0.0.1:{port}/login"}, False),
        ({"Origin": "http://127.0.0.1:{port}"}, True),
        ({"Referer": "http://127.0.0.1:{port}/login?next=%2F"}, True),
        ({"Origin": "https://ops.example.com"}, True),  # configured in --http-cors-origins
        ({}, True),  # not a browser page: the CSRF token decides
    ],
    ids=["other-site", "null", "other-referer", "origin-wins", "same", "same-referer", "allowed", "none"],
)
def test_cross_site_login_posts_are_refused(login_server, monkeypatch, headers, allowed) -> None:
    port = login_server.server.port
    monkeypatch.setattr(
        login_server.server.context, "cors_origins", frozenset({"https://ops.example.com", "*"})
    )
    headers = {k: v.format(port=port) for k, v in headers.items()}
    cookie, token = login_form(port)
    for _ in range(6):  # never counted as failed logins: the owner's own browser cannot be used against them
        status, answer, body = post_login(
            port,
            {"username": "alice", "password": "wrong password", "csrf_token": token},
            cookie,
            headers=headers,
        )
        if allowed:
            break
        assert status == 403 and b"sent from another site" in body and "Set-Cookie" not in answer
    status, answer, _ = post_login(
        port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie, headers=headers
    )
    assert status == (303 if allowed else 403)
    if not allowed:  # six refused posts with a wrong password did not lock alice's own address
        status, _, _ = post_login(
            port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie
        )
        assert status == 303


def test_cross_site_logout_is_refused(login_server) -> None:
    port = login_server.server.port
    cookie, token = login_form(port)
    _, headers, _ = post_login(port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie)
    session = {"Cookie": f"te_session={re.search(r'te_session=([^;]+)', headers['Set-Cookie']).group(1)}"}
    page = get(port, "/", session).body
    logout_token = re.search(rb'action="/logout".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)

    def logout(origin: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            "/logout",
            body=f"csrf_token={logout_token.decode()}",
            headers={**session, "Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
        )
        status = conn.getresponse().status
        conn.close()
        return status

    assert logout("https://evil.example") == 403
    assert get(port, "/", session).status == 200  # still logged in
    assert logout(f"http://127.0.0.1:{port}") == 303
    assert get(port, "/", session).status == 303


def test_logout_ends_the_session_for_every_copy_of_its_cookie(login_server) -> None:
    port = login_server.server.port
    cookie, token = login_form(port)
    _, headers, _ = post_login(port, {"username": "alice", "password": PASSWORD, "csrf_token": token}, cookie)
    session = re.search(r"te_session=([^;]+)", headers["Set-Cookie"]).group(1)
    copied = {"Cookie": f"te_session={session}"}  # e.g. taken from a shared machine
    assert get(port, "/", copied).status == 200
    page = get(port, "/", copied).body
    logout_token = re.search(rb'action="/logout".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/logout",
        body=f"csrf_token={logout_token.decode()}",
        headers={**copied, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert conn.getresponse().status == 303
    conn.close()
    answer = get(port, "/", copied)  # the cookie is still signed and unexpired, but logged out
    assert answer.status == 303 and answer.headers["Location"].endswith("/login")


@pytest.fixture()
def proxied_login_server(scenario, login_server):
    """The login dashboard as it runs behind a reverse proxy on 127.0.0.1 (--http-trusted-proxy)."""
    from tests.dashboard.conftest import published_run_state, serve

    server = serve(published_run_state(scenario), login_server.dashboard, trusted_proxy="127.0.0.1")
    yield server
    server.stop()


def test_behind_a_trusted_proxy_logins_are_limited_per_real_client(proxied_login_server) -> None:
    port = proxied_login_server.port
    cookie, token = login_form(port)
    via_proxy = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "ops.example.com",
        "Origin": "https://ops.example.com",
    }

    def attempt(client: str, username: str, password: str, source: str = "127.0.0.1") -> tuple[int, dict]:
        headers = {**via_proxy, "X-Forwarded-For": client}
        if source != "127.0.0.1":  # straight to the executor: its X-Forwarded-Host is not believed either
            headers["Origin"] = f"http://127.0.0.1:{port}"
        fields = {"username": username, "password": password, "csrf_token": token}
        status, answer, _ = post_login(port, fields, cookie, source=source, headers=headers)
        return status, answer

    for i in range(20):  # one client behind the proxy guesses until its address is locked
        attempt("203.0.113.9", "alice" if i < 5 else f"user{i}", "guess guess")
    assert attempt("203.0.113.9", "alice", PASSWORD)[0] == 429
    # the proxy's own address is not what is locked: the owner, through the same proxy, logs in
    status, answer = attempt("198.51.100.7", "alice", PASSWORD)
    assert (
        status == 303 and "secure;" in answer["Set-Cookie"].lower()
    )  # X-Forwarded-Proto: https was believed
    # a client that is not the proxy cannot choose its address by sending the header itself
    for _ in range(5):
        attempt("192.0.2.1", "alice", "guess guess", source="127.0.0.3")
    assert attempt("192.0.2.2", "alice", PASSWORD, source="127.0.0.3")[0] == 429
