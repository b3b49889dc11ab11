"""Login, logout and static files: the views around the dashboards.

Login answers the same sentence, with the same status and the same work (one scrypt
derivation), for an unknown user and for a wrong password, so the page tells nobody which
usernames exist. Every form carries a CSRF token (see auth/session.py).
"""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from pyramid.request import Request
from pyramid.response import Response

from tradeexecutor.dashboard import static
from tradeexecutor.dashboard.auth.origin import is_same_site_post
from tradeexecutor.dashboard.auth.ratelimit import login_keys, username_key
from tradeexecutor.dashboard.auth.session import CSRF_COOKIE, SESSION_COOKIE, SESSION_SECONDS, new_nonce
from tradeexecutor.dashboard.config import LoginConfig
from tradeexecutor.dashboard.pages import render
from tradeexecutor.dashboard.views import base_context, dashboard, error_page, html_response
from tradeexecutor.webhook.http import accepts_gzip, etag_matches

logger = logging.getLogger(__name__)

WRONG = "Wrong username or password."
FORM_EXPIRED = "The login form expired or came from another site: reload this page and log in again."
CROSS_SITE = (
    "This form was sent from another site, so it was refused: open this site's own page and use it there."
)
MAX_FIELD = 256


def safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` and `https://...` would be open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(location: str, status: int = 303) -> Response:
    response = Response(status=status)
    response.location = location
    response.cache_control = "no-store"
    return response


def redirect_to_login(request: Request) -> Response:
    target = request.path_qs
    return redirect("/login" + ("?" + urlencode({"next": target}) if target != "/" else ""))


def _secure(request: Request, login: LoginConfig) -> bool:
    if login.cookie_secure == "always":
        return True
    if login.cookie_secure == "never":
        return False
    return request.scheme == "https"


def _set_cookie(
    response: Response, request: Request, login: LoginConfig, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=_secure(request, login)
    )


def _login_form(
    request: Request, login: LoginConfig, *, message: str = "", username: str = "", status: int = 200
) -> Response:
    nonce = request.cookies.get(CSRF_COOKIE) or ""
    fresh = len(nonce) < 16
    if fresh:
        nonce = new_nonce()
    context = base_context(request, "Log in", None)
    context.update(nav=[], footer_note=None)  # nothing about the executor's state before login
    body = render(
        "login.html",
        message=message,
        username=username[:MAX_FIELD],
        next=safe_next(request.params.get("next")),
        **{**context, "csrf_token": login.signer.csrf_token(nonce)},
    )
    response = html_response(body, status)
    if fresh:
        _set_cookie(response, request, login, CSRF_COOKIE, nonce, SESSION_SECONDS)
    return response


def _cross_site(request: Request) -> Response | None:
    """403 for a form posted from another site (auth/origin.py), before anything else reads it."""
    allowed = request.registry.webhook_context.cors_origins
    origin, referer = request.headers.get("Origin"), request.headers.get("Referer")
    if is_same_site_post(origin, referer, request.host_url, allowed):
        return None
    logger.warning("Refused a %s form posted from %s", request.path, (origin or referer or "?")[:200])
    return error_page(request, 403, CROSS_SITE, "Forbidden")


def login(request: Request) -> Response:
    config = dashboard(request)
    login_config = config.login
    if login_config is None:
        return redirect("/")
    if request.method != "POST":
        if login_config.session(request.cookies.get(SESSION_COOKIE)) is not None:
            return redirect(safe_next(request.GET.get("next")))
        return _login_form(request, login_config)
    if (refused := _cross_site(request)) is not None:
        return refused
    form = request.POST
    username = (form.get("username") or "")[:MAX_FIELD]
    password = (form.get("password") or "")[: MAX_FIELD * 4]
    if not login_config.signer.check_csrf(request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        return _login_form(request, login_config, message=FORM_EXPIRED, username=username, status=403)
    keys = login_keys(request.remote_addr, username)
    wait = login_config.limiter.retry_after(keys)
    if wait is not None:
        response = _login_form(
            request,
            login_config,
            message=f"Too many failed logins: wait {math.ceil(wait / 60)} minute(s) and try again.",
            username=username,
            status=429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    if not username.strip() or not login_config.users.verify(username, password):
        login_config.limiter.failed(keys)
        logger.warning("Dashboard login failed from %s", request.remote_addr)
        return _login_form(request, login_config, message=WRONG, username=username)
    login_config.limiter.succeeded([username_key(request.remote_addr, username)])
    logger.info("Dashboard login by %s from %s", username.strip(), request.remote_addr)
    response = redirect(safe_next(form.get("next")))
    _set_cookie(
        response,
        request,
        login_config,
        SESSION_COOKIE,
        login_config.signer.issue(username.strip()),
        SESSION_SECONDS,
    )
    return response


def logout(request: Request) -> Response:
    login_config = dashboard(request).login
    if login_config is None:
        return redirect("/")
    if (refused := _cross_site(request)) is not None:
        return refused
    session = login_config.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return redirect("/login")
    if not login_config.signer.check_csrf(session.nonce, request.POST.get("csrf_token")):
        request.environ["tradeexecutor.session"] = session
        return error_page(
            request, 403, "The logout form came from another site; use the Log out button.", "Forbidden"
        )
    login_config.users.revoke(session.nonce, session.expires)  # a copy of the cookie dies too
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def static_file(request: Request) -> Response:
    found = static.load(request.matchdict["name"])
    if found is None:
        return error_page(request, 404, "There is no such file.", "Not found")
    headers = [("ETag", found.etag), ("Vary", "Accept-Encoding")]
    if etag_matches(request.headers.get("If-None-Match"), (found.etag,)):
        response = Response(status=304, charset=None)
        response.content_type = None
    else:
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
        response = Response(body=found.gzipped if gzip_ok else found.data, charset=None)
        response.content_type = found.content_type
        if found.content_type.startswith("text/"):
            response.charset = "utf-8"
        if gzip_ok:
            headers.append(("Content-Encoding", "gzip"))
    response.headerlist.extend(headers)
    response.cache_control = static.CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
