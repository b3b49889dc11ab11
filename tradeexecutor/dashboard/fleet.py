"""The fleet view's data: many executors' `/status` and `/metadata`, read concurrently.

Each executor is asked in parallel with a timeout, so one hung executor delays the page by
at most the timeout and never hides the others; an executor that cannot be read is shown as
unreachable with the reason. Answers are cached for a few seconds so a page reloaded by
several people does not multiply the requests.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError

PUBLIC_STRATEGIES_ENV = "TS_PUBLIC_STRATEGIES"
DEFAULT_TIMEOUT = 3.0
CACHE_SECONDS = 5.0
MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class FleetEntry:
    id: str
    name: str
    url: str  # the executor's webhook base URL
    # "user:password" for an executor whose webhook asks for basic auth; read from the
    # environment variable the entry names, so the (often public) list holds no secret
    credentials: str | None = field(default=None, repr=False)


def _credentials(item: dict[str, Any], source: str, environ: Mapping[str, str]) -> str | None:
    name = item.get("credentials_env")
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise UserError(
            f"Entry {item['id']!r} in {source}: credentials_env must name an environment variable."
        )
    value = environ.get(name, "")
    if ":" not in value:
        raise UserError(
            f"Entry {item['id']!r} in {source} takes its webhook login from {name}, which is "
            f"{'not set' if not value else 'not user:password'}: set {name}=user:password."
        )
    from tradeexecutor.config.redaction import redactor

    redactor.register(value.split(":", 1)[1])
    return value


def parse_strategies(text: str, source: str, environ: Mapping[str, str] | None = None) -> list[FleetEntry]:
    """`[{"id", "name", "url", "credentials_env"?}, ...]`; credentials come from the environment."""
    environ = os.environ if environ is None else environ
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(
            f"{source} is not valid JSON ({e.msg} at line {e.lineno}): give a list of {{id, name, url}}."
        ) from None
    if not isinstance(document, list) or not document:
        raise UserError(f'{source} must be a non-empty JSON list of {{"id", "name", "url"}} objects.')
    entries: list[FleetEntry] = []
    for index, item in enumerate(document):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not isinstance(item.get("url"), str)
        ):
            raise UserError(f'Entry {index} in {source} needs an "id" and a "url" (strings).')
        url = item["url"].strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UserError(
                f"Entry {item['id']!r} in {source} has url {url!r}: use the executor's http(s):// webhook URL."
            )
        entries.append(
            FleetEntry(
                id=item["id"],
                name=str(item.get("name") or item["id"]),
                url=url,
                credentials=_credentials(item, source, environ),
            )
        )
    ids = [e.id for e in entries]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise UserError(f"Strategy id {duplicate!r} appears twice in {source}: ids must be unique.")
    return entries


def load_strategies(path: Path | None, env_value: str | None) -> list[FleetEntry]:
    """--strategies (a file) wins; else TS_PUBLIC_STRATEGIES (the JSON itself)."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise UserError(f"Cannot read --strategies {path}: {e.strerror or e}.") from None
        return parse_strategies(text, str(path))
    if env_value:
        return parse_strategies(env_value, PUBLIC_STRATEGIES_ENV)
    raise UserError(
        f"No strategies to show: pass --strategies strategies.json or set {PUBLIC_STRATEGIES_ENV}."
    )


def fetch_json(url: str, timeout: float, credentials: str | None = None) -> Any:
    headers = {"Accept": "application/json", "User-Agent": "trade-executor-fleet"}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator-given URLs
        return json.loads(response.read(MAX_BODY))


@dataclass(frozen=True, slots=True)
class FleetRow:
    id: str
    name: str
    dashboard_url: str
    icon_url: str | None
    state: str  # running | retrying | stopped | unreachable
    label: str
    total_equity: Decimal | None
    last_cycle_at: datetime.datetime | None
    completed_cycle: int | None
    detail: str
    currency: str | None = None  # of total_equity and profit
    profit: Decimal | None = None  # realised plus unrealised profit of every position


@dataclass(frozen=True, slots=True)
class FleetTotal:
    """The fleet's equity and profit in one currency: only amounts in the same currency add up."""

    currency: str
    total_equity: Decimal
    profit: Decimal
    executors: int  # how many executors' figures are in it


def fleet_totals(rows: Sequence[FleetRow]) -> list[FleetTotal]:
    """One total per currency, largest equity first; executors that did not report (unreachable,
    no reserve yet, or too old to say their currency) are left out and not counted."""
    sums: dict[str, tuple[Decimal, Decimal, int]] = {}
    for row in rows:
        if row.currency is None or row.total_equity is None:
            continue
        equity, profit, count = sums.get(row.currency, (Decimal(0), Decimal(0), 0))
        sums[row.currency] = (equity + row.total_equity, profit + (row.profit or Decimal(0)), count + 1)
    totals = [FleetTotal(currency, *figures) for currency, figures in sums.items()]
    return sorted(totals, key=lambda t: (-t.total_equity, t.currency))


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        if error.code == 401:
            return "HTTP 401: its webhook asks for a login; name the variable holding it in credentials_env"
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, json.JSONDecodeError):
        return "answered something that is not JSON"
    return str(error) or type(error).__name__


def _decimal(value: Any) -> Decimal | None:
    """A finite amount from another executor's JSON, or None."""
    try:
        amount = Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() else None


def row_for(entry: FleetEntry, status: Any, metadata: Any) -> FleetRow:
    from tradeexecutor.dashboard.pages import safe_url

    if not isinstance(status, dict):
        return FleetRow(
            entry.id,
            entry.name,
            entry.url + "/",
            None,
            "unreachable",
            "Unreachable",
            None,
            None,
            None,
            _reason(status),
        )
    meta = metadata if isinstance(metadata, dict) else {}
    summary = meta.get("summary") if isinstance(meta.get("summary"), dict) else {}
    currency = summary.get("currency")
    exception = status.get("exception") or {}
    if not status.get("executor_running", False):
        state, label = "stopped", "Stopped"
        detail = status.get("halted_reason") or exception.get("message") or ""
    elif exception:
        state, label, detail = "retrying", "Retrying", exception.get("message", "")
    else:
        state, label = "running", "Running"
        detail = f"{status.get('trades_succeeded', 0)} trades, {status.get('cycles_failed', 0)} failed cycles"
    last = status.get("last_cycle_at")
    return FleetRow(
        id=entry.id,
        name=meta.get("name") or entry.name,
        dashboard_url=entry.url + "/",
        icon_url=safe_url(meta.get("icon_url")),
        state=state,
        label=label,
        total_equity=_decimal(summary.get("total_equity")),
        last_cycle_at=datetime.datetime.fromtimestamp(last, datetime.UTC)
        if isinstance(last, int | float)
        else None,
        completed_cycle=status.get("completed_cycle"),
        detail=str(detail)[:300],
        currency=currency if isinstance(currency, str) and currency else None,
        profit=_decimal(summary.get("profit")),
    )


class FleetPoller:
    def __init__(
        self,
        entries: Sequence[FleetEntry],
        timeout: float = DEFAULT_TIMEOUT,
        fetch: Callable[[str, float, str | None], Any] = fetch_json,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.entries = list(entries)
        self.timeout = timeout
        self.fetch = fetch
        self.cache_seconds = cache_seconds
        self._pool = ThreadPoolExecutor(
            max_workers=min(32, 2 * len(self.entries) or 1), thread_name_prefix="fleet"
        )
        self._lock = threading.Lock()
        self._cached: tuple[float, list[FleetRow]] | None = None

    def _get(self, url: str, credentials: str | None) -> Any:
        try:
            return self.fetch(url, self.timeout, credentials)
        except Exception as e:  # every failure is shown on the page, none stops it
            return e

    def rows(self) -> list[FleetRow]:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            futures = [
                (
                    entry,
                    self._pool.submit(self._get, entry.url + "/status", entry.credentials),
                    self._pool.submit(self._get, entry.url + "/metadata", entry.credentials),
                )
                for entry in self.entries
            ]
            rows = [row_for(entry, status.result(), metadata.result()) for entry, status, metadata in futures]
            self._cached = (time.monotonic(), rows)
            return rows

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
