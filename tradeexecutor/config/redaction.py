"""Remove secrets from any text before it leaves the process.

Two layers, because neither is enough alone:

- **Known values.** At start-up every secret the process was given (private key, API keys,
  passwords, webhook URLs, RPC URLs with keys in them) is registered from the environment;
  any later occurrence of that exact value (case-insensitive) is replaced, wherever it
  appears: log message, exception text, /status.
- **Patterns.** Secrets we were never told about but can recognise: a bare 64-hex string
  (the usual private key format), credentials in URLs (`user:pass@`, `?apikey=`, a long
  random path segment like Infura's or Alchemy's key), Discord webhook tokens and
  `password=...` style assignments.

0x-prefixed 64-hex strings are deliberately NOT pattern-redacted: transaction and block
hashes look exactly like that and logs without them are useless. A private key the
process knows (PRIVATE_KEY) is redacted by value in every spelling.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

REDACTED = "***"

# Shorter values are too likely to be ordinary words or numbers to redact by value.
MIN_SECRET_LENGTH = 6

_SECRET_NAME_EXACT = frozenset(
    {"PRIVATE_KEY", "SENTRY_DSN", "HTTP_PASSWORD", "DISCORD_WEBHOOK_URL", "DISCORD_ERROR_WEBHOOK_URL"}
)
_SECRET_NAME_PATTERN = re.compile(
    r"(^|_)(PRIVATE_KEY|API_KEY|APIKEY|PASSWORD|PASSWD|SECRET|API_TOKEN|AUTH_TOKEN|ACCESS_TOKEN|BOT_TOKEN|DSN)$"
    r"|^DISCORD_.*URL$"
)
# RPC and database URLs are public unless they carry a key or password; we register only
# their secret parts.
_URL_NAME_PATTERN = re.compile(r"^(JSON_RPC_.*|.*_RPC_URL|.*_WEBHOOK_URL|.*_DB_URL|DATABASE_URL)$")

_BARE_HEX_KEY = re.compile(r"(?<![0-9a-fA-Fx])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
_KEYWORD_HEX_KEY = re.compile(r"(?i)(private[_ -]?key\W{0,4})(0x)?[0-9a-f]{64}\b")
_DISCORD_WEBHOOK = re.compile(r"(?i)(https?://(?:[\w-]+\.)?discord(?:app)?\.com/api/webhooks/)[^\s\"'<>]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|secret|password|pass|sig|signature)=)"
    r"[^&;\s\"'#<>]+"
)
_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|secret|api[_-]?key|apikey|private[_-]?key|access[_-]?token|auth[_-]?token|dsn)"
    r"([\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)([^\s\"',;&}]+)"
)
_URL = re.compile(r"(?i)\bhttps?://[^\s\"'<>]+")
_HEX_ID = re.compile(r"^0x[0-9a-fA-F]+$")


def is_secret_name(name: str) -> bool:
    """A variable whose whole value is a secret, whatever it holds (PRIVATE_KEY, *_API_KEY, ...)."""
    upper = name.upper()
    return upper in _SECRET_NAME_EXACT or bool(_SECRET_NAME_PATTERN.search(upper))


def is_url_name(name: str) -> bool:
    """A variable holding URLs that are secret only when they carry credentials (JSON_RPC_*)."""
    return bool(_URL_NAME_PATTERN.match(name.upper()))


def url_value_has_credentials(value: str) -> bool:
    """True when any of the (space or comma separated) URLs carries a key, token or password."""
    return any(secret_parts_of_url(url) for url in re.split(r"[\s,]+", value) if url)


def looks_like_private_key(value: str) -> bool:
    """64 hex digits, with or without 0x: the usual spelling of a raw private key."""
    text = value.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def _looks_like_key(segment: str) -> bool:
    """A long token mixing letters and digits: an API key in a URL path (Infura, Alchemy, QuickNode)."""
    if len(segment) < 20 or _HEX_ID.match(segment):
        return False
    if not re.fullmatch(r"[A-Za-z0-9_-]+", segment):
        return False
    return any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


def _redact_url_path(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme_end = url.find("://") + 3
    path_start = url.find("/", scheme_end)
    if path_start < 0:
        return url
    head, rest = url[:path_start], url[path_start:]
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    path, tail = rest[:cut], rest[cut:]
    segments = [REDACTED if _looks_like_key(s) else s for s in path.split("/")]
    return head + "/".join(segments) + tail


def secret_parts_of_url(url: str) -> list[str]:
    """The parts of an RPC or webhook URL that are credentials (empty when the URL is public)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    found: list[str] = []
    if parts.username:
        found.append(parts.username)
    if parts.password:
        found.append(parts.password)
    found += [s for s in parts.path.split("/") if _looks_like_key(s)]
    for pair in re.split(r"[&;]", parts.query):
        _, _, value = pair.partition("=")
        if len(value) >= MIN_SECRET_LENGTH:
            found.append(value)
    if found:
        found.append(url.strip())
    return found


class SecretRedactor:
    """Known secret values plus recognisable patterns; safe to use from any thread."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._value_pattern: re.Pattern[str] | None = None

    def register(self, *values: str | None) -> None:
        """Treat these exact strings as secrets from now on (also without a 0x prefix)."""
        added = False
        with self._lock:
            for value in values:
                if not value:
                    continue
                value = value.strip()
                variants = {value}
                if value[:2].lower() == "0x":
                    variants.add(value[2:])
                for v in variants:
                    if len(v) >= MIN_SECRET_LENGTH and v not in self._values:
                        self._values.add(v)
                        added = True
            if added:
                ordered = sorted(self._values, key=len, reverse=True)
                self._value_pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)

    def register_environment(self, environ: Mapping[str, str]) -> list[str]:
        """Register every secret-looking variable; return the names used (never the values)."""
        names = []
        for name, value in environ.items():
            if not value:
                continue
            if is_secret_name(name):
                self.register(value)
                names.append(name)
            elif is_url_name(name):
                parts = [p for url in re.split(r"[\s,]+", value) if url for p in secret_parts_of_url(url)]
                if parts:
                    self.register(*parts)
                    names.append(name)
        return sorted(names)

    @property
    def known_count(self) -> int:
        return len(self._values)

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._value_pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        text = _DISCORD_WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
        text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
        text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
        text = _URL.sub(_redact_url_path, text)
        text = _KEYWORD_HEX_KEY.sub(lambda m: m.group(1) + REDACTED, text)
        text = _BARE_HEX_KEY.sub(REDACTED, text)
        return _ASSIGNMENT.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)

    def redact_data(self, value: Any) -> Any:
        """Redact every string inside nested dicts, lists and tuples (Sentry events, JSON bodies)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.redact_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_data(v) for v in value)
        return value

    def redact_all(self, texts: Iterable[str]) -> list[str]:
        return [self.redact(t) for t in texts]


#: The process-wide redactor: start-up code registers secrets here, every sink uses it.
redactor = SecretRedactor()


def redact(text: str) -> str:
    """Redact with the process-wide redactor."""
    return redactor.redact(text)
