"""Signed session cookies and CSRF tokens, keyed by APP_COOKIE_SECRET.

A session cookie is `<payload>.<signature>`: base64url JSON `{"u": user, "e": expiry,
"n": nonce}` and its HMAC-SHA256. Nothing secret is in the payload; the signature makes it
unforgeable without the secret. Separate keys are derived for sessions and CSRF tokens so
one can never be replayed as the other.

CSRF: every form carries a token that is the HMAC of a per-browser nonce, which the browser
holds in a cookie (before login) or in its session (after). A page on another site can
make the browser send the cookie, but cannot read it, so it cannot produce the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass

SESSION_COOKIE = "te_session"
CSRF_COOKIE = "te_csrf"
SESSION_SECONDS = 12 * 3600
MIN_SECRET_LENGTH = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_nonce() -> str:
    return _b64(os.urandom(18))


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    expires: int
    nonce: str


class Signer:
    def __init__(self, secret: str) -> None:
        master = secret.encode("utf-8")
        self._session_key = hmac.new(master, b"trade-executor dashboard session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(master, b"trade-executor dashboard csrf", hashlib.sha256).digest()

    # --- sessions ------------------------------------------------------------------------------

    def issue(self, username: str, now: float | None = None, lifetime: int = SESSION_SECONDS) -> str:
        payload = {"u": username, "e": int((now or time.time()) + lifetime), "n": new_nonce()}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._sign(self._session_key, body)}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(self._session_key, body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            session = Session(str(payload["u"]), int(payload["e"]), str(payload["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires < (now or time.time()):
            return None
        return session

    # --- CSRF ----------------------------------------------------------------------------------

    def csrf_token(self, nonce: str) -> str:
        return self._sign(self._csrf_key, nonce)

    def check_csrf(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(nonce))

    @staticmethod
    def _sign(key: bytes, text: str) -> str:
        return _b64(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest())
