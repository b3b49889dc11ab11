"""Everything the views may read, bundled once per app (stored on the pyramid registry)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from tradeexecutor.execution.run_state import RunState, utc_now
from tradeexecutor.webhook.http import BasicAuth
from tradeexecutor.webhook.snapshot_cache import SnapshotCache

if TYPE_CHECKING:
    from tradeexecutor.dashboard.config import DashboardConfig


class LogSource(Protocol):
    capacity: int

    def entries(self, min_level: int = 0, limit: int | None = None) -> list[dict[str, Any]]: ...

    def __len__(self) -> int: ...


class MetricsSource(Protocol):
    def prometheus_text(self) -> str: ...

    def observe_counter(self, name: str, read: Callable[[], float]) -> None: ...


@dataclass
class WebhookContext:
    run_state: RunState
    logs: LogSource | None = None
    metrics: MetricsSource | None = None
    auth: BasicAuth | None = None
    cors_origins: frozenset[str] = frozenset()
    dashboard: DashboardConfig | None = None  # None: no HTML pages, only the JSON API
    clock: Callable[[], datetime] = utc_now
    openapi_body: bytes = b"{}"
    # {path: query parameters the route takes}; other parameters answer 400 (openapi.query_parameters)
    query_parameters: dict[str, frozenset[str]] = field(default_factory=dict)
    cache: SnapshotCache = field(default_factory=SnapshotCache)
    _requests: itertools.count = field(default_factory=itertools.count)
    requests_served: int = 0

    def count_request(self) -> None:
        # next() on itertools.count is atomic under the GIL: no lock on the hot path.
        self.requests_served = next(self._requests) + 1
