"""Dashboard users in a SQL database: SQLite by default, any SQLAlchemy URL via DASHBOARD_DB_URL.

One table, created on first use. Passwords are stored only as scrypt hashes.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from tradeexecutor.dashboard.auth.passwords import dummy_hash, hash_password, verify_password
from tradeexecutor.errors import UserError

DEFAULT_DB_URL = "sqlite:///state/dashboard-users.sqlite"
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 10


class UserExists(UserError):
    pass


def check_username(username: str) -> str:
    name = username.strip()
    if not USERNAME.match(name):
        raise UserError("A dashboard username must be 1 to 64 letters, digits or . _ @ - characters.")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"The dashboard password must be at least {MIN_PASSWORD} characters long.")
    return password


def redacted_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class UserStore:
    def __init__(self, url: str = DEFAULT_DB_URL) -> None:
        from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

        self.url = url
        try:
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, pool_pre_ping=True)
            metadata = MetaData()
            self.table = Table(
                "dashboard_users",
                metadata,
                Column("id", Integer, primary_key=True),
                Column("username", String(64), unique=True, nullable=False),
                Column("password_hash", String(255), nullable=False),
                Column("created_at", DateTime(timezone=True), nullable=False),
            )
            # Sessions ended by logout before their expiry: a copied cookie must not outlive it.
            self.revoked = Table(
                "dashboard_revoked_sessions",
                metadata,
                Column("nonce", String(64), primary_key=True),
                Column("expires", Integer, nullable=False),
            )
            metadata.create_all(self.engine)
        except (ArgumentError, NoSuchModuleError, ValueError) as e:
            raise UserError(
                f"--dashboard-db-url {redacted_url(url)!r} is not a usable database URL ({e})."
            ) from None
        except (SQLAlchemyError, OSError) as e:
            reason = str(getattr(e, "orig", e)).splitlines()[0]
            raise UserError(
                f"Cannot open the dashboard user database {redacted_url(url)}: {reason}."
            ) from None

    def add(self, username: str, password: str) -> None:
        from sqlalchemy import insert, select

        name = check_username(username)
        check_password(password)
        with self.engine.begin() as conn:
            if conn.execute(select(self.table.c.id).where(self.table.c.username == name)).first():
                raise UserExists(f"The dashboard user {name!r} already exists.")
            conn.execute(
                insert(self.table).values(
                    username=name,
                    password_hash=hash_password(password),
                    created_at=datetime.datetime.now(datetime.UTC),
                )
            )

    def usernames(self) -> list[str]:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            return [
                row[0] for row in conn.execute(select(self.table.c.username).order_by(self.table.c.username))
            ]

    def verify(self, username: str, password: str) -> bool:
        """True for a known user with this password. Runs the KDF exactly once either way."""
        from sqlalchemy import select

        with self.engine.connect() as conn:
            row = conn.execute(
                select(self.table.c.password_hash).where(self.table.c.username == username.strip())
            ).first()
        if row is None:
            verify_password(password, dummy_hash())
            return False
        return verify_password(password, row[0])

    def revoke(self, nonce: str, expires: int, now: float | None = None) -> None:
        """End a session for good (logout); forget revocations that expired on their own."""
        import time

        from sqlalchemy import delete, insert

        with self.engine.begin() as conn:
            conn.execute(delete(self.revoked).where(self.revoked.c.expires < int(now or time.time())))
            conn.execute(delete(self.revoked).where(self.revoked.c.nonce == nonce))
            conn.execute(insert(self.revoked).values(nonce=nonce, expires=expires))

    def is_revoked(self, nonce: str) -> bool:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            return (
                conn.execute(select(self.revoked.c.nonce).where(self.revoked.c.nonce == nonce)).first()
                is not None
            )

    def close(self) -> None:
        self.engine.dispose()
