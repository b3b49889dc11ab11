"""HTTP details as plain functions: basic auth, CORS, ETags, Accept-Encoding."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

REALM = "trade-executor"


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str = field(repr=False)

    def check(self, authorization: str | None) -> bool:
        """Constant-time check of an `Authorization: Basic ...` header (both parts always compared)."""
        if not authorization:
            return False
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self.username.encode("utf-8"))
        password_ok = hmac.compare_digest(password, self.password.encode("utf-8"))
        return bool(sep) and user_ok and password_ok

    @property
    def challenge(self) -> str:
        return f'Basic realm="{REALM}", charset="UTF-8"'


def parse_origins(value: str | None) -> frozenset[str]:
    """`--http-cors-origins`: comma list of origins, `*` for any; blanks ignored."""
    if not value:
        return frozenset()
    return frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def cors_headers(origin: str | None, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """Headers for a response to `origin`; empty when the origin is not allowed."""
    if not origin or not allowed:
        return []
    if "*" in allowed:
        return [("Access-Control-Allow-Origin", "*")]
    if origin in allowed:
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin"),
        ]
    return []


PREFLIGHT_HEADERS = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, If-None-Match, Content-Type"),
    ("Access-Control-Max-Age", "600"),
]


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client accepts gzip (explicitly, or via `*`) with q > 0."""
    if not accept_encoding:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for part in accept_encoding.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            gzip_q = q
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def etag_matches(if_none_match: str | None, etags: Iterable[str]) -> bool:
    """If-None-Match uses weak comparison: `W/"x"` matches `"x"`; `*` matches anything."""
    if not if_none_match:
        return False
    candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in candidates or any(e.removeprefix("W/") in candidates for e in etags)
