"""Refuse form posts that come from another site, by the origin the browser reports.

Browsers send `Origin` with every POST (and usually a `Referer`): a form on another site
that posts to the executor names that site. A post passes when its origin is this site —
the same host and port as the request's `Host` — or one of the configured allowed origins
(`--http-cors-origins`, without its `*` wildcard). The scheme is not compared, so an https
reverse proxy that talks plain http to the executor still matches; default ports are
dropped before comparing. `Origin: null` (sandboxed frames, privacy redirects) and an
origin that is not a web URL never pass. A request with neither header passes: it does not
come from a browser page, and the form's CSRF token is still required (auth/session.py).

Checked before the CSRF token and before the login rate limit, so a page on another site
cannot make a visitor's browser fail logins from the visitor's own address. pyramid's
`check_csrf_origin` does the same only for https requests; the executor usually serves
plain http on loopback behind a proxy, so this checks every scheme.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def site_of(url: str) -> str | None:
    """`https://Example.com:443/x` -> `example.com`, `http://h:3456/` -> `h:3456`; None if not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return host if port in (None, DEFAULT_PORTS[parts.scheme.lower()]) else f"{host}:{port}"


def is_same_site_post(
    origin: str | None, referer: str | None, host_url: str, allowed: Iterable[str] = ()
) -> bool:
    """Whether a POST with these headers, received at `host_url` (scheme and Host), may proceed."""
    source = origin if origin is not None and origin.strip() else referer
    if source is None or not source.strip():
        return True  # not sent by a page: the CSRF token decides
    if source.strip() == "null":
        return False
    site = site_of(source)
    if site is None:
        return False
    trusted = {site_of(a) for a in allowed if a.strip() != "*"}
    return site == site_of(host_url) or site in trusted
