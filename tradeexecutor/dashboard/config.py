"""Everything the dashboard views need besides the run snapshot, built once at start-up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.dashboard.auth.ratelimit import LoginRateLimiter
from tradeexecutor.dashboard.auth.session import MIN_SECRET_LENGTH, Session, Signer
from tradeexecutor.dashboard.settings import DisplaySettings, display_settings
from tradeexecutor.errors import UserError

logger = logging.getLogger(__name__)

COOKIE_SECURE_MODES = ("auto", "always", "never")


@dataclass
class LoginConfig:
    users: Any  # UserStore (SQLAlchemy is imported only in login mode)
    signer: Signer
    cookie_secure: str = "auto"  # auto: Secure when the request came over https
    limiter: LoginRateLimiter = field(default_factory=LoginRateLimiter)

    def session(self, cookie: str | None) -> Session | None:
        """The signed-in session of a cookie: valid signature, not expired, not logged out."""
        session = self.signer.read(cookie)
        if session is None or self.users.is_revoked(session.nonce):
            return None
        return session


@dataclass
class DashboardConfig:
    settings: DisplaySettings = field(default_factory=DisplaySettings)
    login: LoginConfig | None = None  # None: public read-only pages, like /status
    explorer_url: str | None = None
    fleet: Any = None  # FleetPoller when this is the fleet dashboard (`trade-executor dashboard`)
    state_cache: StateCache = field(default_factory=lambda: StateCache())


class StateCache:
    """The State decoded from the last saved bytes, once per save, shared read-only by requests.

    Archived closed positions and ledger rows that the previous save's copy already built are taken over
    rather than decoded again (state/archive.py), so a page listing the whole history costs
    the full decode once, not after every save."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[object, Any] = (None, None)

    def get(self, saved: Any) -> Any:
        """`saved` is the snapshot's SavedState (None before the first save -> None)."""
        if saved is None:
            return None
        key, state = self._entry
        if key is saved:
            return state
        with self._lock:
            key, state = self._entry
            if key is not saved:
                from tradeexecutor.state.serialisation import decode_state

                previous = self._entry[1]
                state = decode_state(saved.data)
                if previous is not None:  # archived history already built for the last save
                    state.portfolio.closed.reuse_decoded(previous.portfolio.closed)
                    state.ledger.rows.reuse_decoded(previous.ledger.rows)
                self._entry = (saved, state)
            return state


def build_login(
    *,
    db_url: str | None,
    cookie_secret: str | None,
    cookie_secure: str = "auto",
) -> LoginConfig:
    """Refuse login mode without a usable secret; open (and create) the user database."""
    from tradeexecutor.config.redaction import redactor
    from tradeexecutor.dashboard.auth.passwords import dummy_hash
    from tradeexecutor.dashboard.auth.users import DEFAULT_DB_URL, UserStore

    if not cookie_secret:
        raise UserError(
            "--dashboard-login needs APP_COOKIE_SECRET to sign session cookies: set it to a long random "
            'string, e.g. python3 -c "import secrets; print(secrets.token_urlsafe(32))".'
        )
    if len(cookie_secret) < MIN_SECRET_LENGTH:
        raise UserError(
            f"APP_COOKIE_SECRET is too short: use at least {MIN_SECRET_LENGTH} random characters."
        )
    mode = (cookie_secure or "auto").strip().lower()
    if mode not in COOKIE_SECURE_MODES:
        raise UserError(
            f"--dashboard-cookie-secure must be one of {', '.join(COOKIE_SECURE_MODES)}, got {cookie_secure!r}."
        )
    redactor.register(cookie_secret)
    users = UserStore(db_url or DEFAULT_DB_URL)
    if not users.usernames():
        logger.warning(
            "Dashboard login is on but there are no users yet: add one with `trade-executor create-dashboard-user`."
        )
    dummy_hash()  # computed now, so the first unknown-user login costs no more than the others
    return LoginConfig(users=users, signer=Signer(cookie_secret), cookie_secure=mode)


def build_dashboard_config(
    strategy_id: str,
    *,
    login: bool = False,
    db_url: str | None = None,
    cookie_secret: str | None = None,
    cookie_secure: str = "auto",
    config_file: Path | None = None,
    module_settings: Mapping[str, Any] | None = None,
    explorer_url: str | None = None,
) -> DashboardConfig:
    """From the CLI options (see cli/options.py, `# --- dashboard ---`)."""
    return DashboardConfig(
        settings=display_settings(strategy_id, module_settings, config_file),
        login=build_login(db_url=db_url, cookie_secret=cookie_secret, cookie_secure=cookie_secure)
        if login
        else None,
        explorer_url=explorer_url,
    )
