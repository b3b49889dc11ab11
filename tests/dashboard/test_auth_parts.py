"""The origin check and the login rate limit as plain functions (the HTTP side is in test_login.py)."""

from __future__ import annotations

import pytest

from tradeexecutor.dashboard.auth.origin import is_same_site_post, site_of
from tradeexecutor.dashboard.auth.ratelimit import LoginRateLimiter, login_keys, username_key


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://Example.com", "example.com"),
        ("https://example.com:443/login?x=1", "example.com"),
        ("http://example.com:80", "example.com"),
        ("http://127.0.0.1:3456/", "127.0.0.1:3456"),
        ("https://example.com:8443", "example.com:8443"),
        ("http://[::1]:3456/x", "[::1]:3456"),
        ("null", None),
        ("file:///etc/passwd", None),
        ("javascript:alert(1)", None),
        ("http://example.com:99999", None),
        ("", None),
    ],
)
def test_site_of(url, site) -> None:
    assert site_of(url) == site


def test_same_site_ignores_the_scheme_a_tls_proxy_changes() -> None:
    # an https proxy in front, plain http to the executor, the Host header passed through
    assert is_same_site_post("https://ops.example.com", None, "http://ops.example.com")
    assert not is_same_site_post("https://ops.example.com.evil.example", None, "http://ops.example.com")
    assert not is_same_site_post("http://ops.example.com:8080", None, "http://ops.example.com")


def test_allowed_origins_never_include_the_wildcard() -> None:
    assert is_same_site_post(
        "https://front.example", None, "http://127.0.0.1:3456", ["https://front.example"]
    )
    assert not is_same_site_post("https://evil.example", None, "http://127.0.0.1:3456", ["*"])


def test_limits_are_per_address_and_username_then_per_address() -> None:
    limiter = LoginRateLimiter(window=300)
    attacker = login_keys("10.0.0.9", "alice")
    for t in range(5):
        assert limiter.retry_after(attacker, now=t) is None
        limiter.failed(attacker, now=t)
    assert limiter.retry_after(attacker, now=10) == pytest.approx(290)  # the first failure ages out at 300
    assert limiter.retry_after(login_keys("10.0.0.1", "alice"), now=10) is None  # the owner elsewhere
    assert limiter.retry_after(login_keys("10.0.0.9", "bob"), now=10) is None
    for t in range(15):
        limiter.failed(login_keys("10.0.0.9", f"user{t}"), now=20 + t)
    assert limiter.retry_after(login_keys("10.0.0.9", "bob"), now=40) == pytest.approx(260)  # 20 from there
    assert limiter.retry_after(attacker, now=301) is None  # all aged out of the per-username window
    assert limiter.retry_after(login_keys("10.0.0.9", "bob"), now=320) is None

    limiter.failed(login_keys("10.0.0.1", "alice"), now=400)
    limiter.succeeded([username_key("10.0.0.1", " Alice ")])  # names are compared trimmed, case-blind
    assert limiter.retry_after({username_key("10.0.0.1", "alice"): 1}, now=401) is None
