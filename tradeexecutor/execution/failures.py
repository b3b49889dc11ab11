"""Every failure of the live loop, classified before it is handled.

Three kinds, and only two of them stop trading:

- `transient`: the world blinked. A node that does not answer, times out, answers HTTP 5xx
  or 429, resets the connection, lags behind blocks we already saw; a transaction the node
  dropped or refused as underpriced; `nonce too low` after a node restart; market data that
  is late; a state file that cannot be written right now (disk full). Retried with backoff;
  trading goes on when the world is back, with no restart.
- `strategy`: the strategy's own code raised (and not because of a transient fault underneath:
  an `RPCUnavailable` that travels through `create_trading_universe` is transient, whatever
  line of the strategy it passed). Trading halts until an operator restarts the executor;
  the stop losses and take profits of open positions keep being checked. Anything else
  unexpected that is neither transient nor an invariant violation is handled the same way.
- `invariant`: the books cannot be trusted. An integrity check failed, an audit found the
  state and the chain disagree, the state file is corrupt or refused, the node is on another
  chain. Everything halts, stop-loss checks included: selling on wrong books or on the wrong
  chain could do more harm than the price move.

The classification walks the whole exception chain (`raise ... from`, the implicit context,
and the original exception a strategy wrapper keeps), so a fault is judged by its cause, not
by the layer that happened to re-raise it.
"""

from __future__ import annotations

import datetime
import errno
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from tradeexecutor.config.redaction import redact
from tradeexecutor.state.errors import (
    IllegalTransition,
    InsufficientBalance,
    IntegrityError,
    StateError,
    StateFileCorrupt,
    StateSaveRefused,
    StateStoreError,
)
from tradeexecutor.state.time import utcnow

logger = logging.getLogger(__name__)
T = TypeVar("T")


class FaultKind(StrEnum):
    transient = "transient"
    strategy = "strategy"
    invariant = "invariant"


class TransientFault(Exception):
    """Base for our own exceptions that mean "the world is not ready yet, try again"."""


# Exception classes of the network stack, matched by name so this module never imports web3
# or requests (it sits under every live code path, and `import web3` costs a second).
TRANSIENT_NAMES = frozenset(
    {
        "RPCUnavailable",  # every configured node failed at the transport level (ethereum.connection)
        "ConnectionError",  # requests, and the builtin
        "ConnectTimeout",
        "ReadTimeout",
        "Timeout",
        "TimeExhausted",  # web3 waiting for a receipt
        "ChunkedEncodingError",
        "ProtocolError",  # urllib3: connection broken mid-answer
        "BroadcastError",  # the node did not take a transaction: outcome resolved at the next sync
        "ConfirmationTimeout",  # not mined yet: left for recovery at the next sync
        "StaleMarketData",  # the data feed is late (live_loop)
    }
)
INVARIANT_NAMES = frozenset(
    {
        "ChainIdMismatch",  # the node is on another chain than the strategy (ethereum.connection)
        "AuditFailed",  # the state and the chain disagree (audit)
    }
)
# JSON-RPC error answers that public nodes give when they are overloaded, restarting or
# behind; web3 raises them as plain errors with the node's message.
TRANSIENT_RPC_MESSAGES = (
    "header not found",
    "missing trie node",
    "rate limit",
    "too many requests",
    "request timed out",
    "service unavailable",
    "server is busy",
    "try again",
    "nonce too low",
    "transaction underpriced",
    "replacement transaction underpriced",
    "max fee per gas less than block base fee",
    "no space left on device",
)
_RPC_ERROR_NAMES = frozenset({"Web3RPCError", "BatchCallError", "Web3Exception", "RPCError"})


@dataclass(frozen=True, slots=True)
class Fault:
    """A classified failure: what kind, and one sentence an operator can read."""

    kind: FaultKind
    reason: str
    exception: BaseException

    @property
    def halts_trading(self) -> bool:
        return self.kind != FaultKind.transient

    @property
    def halts_protection(self) -> bool:
        """Whether the stop-loss / take-profit checks must stop too."""
        return self.kind == FaultKind.invariant


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what caused it: the original of a strategy wrapper, `__cause__`, `__context__`
    (unless `raise ... from None` suppressed it: then the raiser chose its own words)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        context = None if current.__suppress_context__ else current.__context__
        for linked in (getattr(current, "original", None), current.__cause__, context):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _kind_of_one(exc: BaseException) -> FaultKind | None:
    """The kind this exception alone stands for, or None when it says nothing by itself."""
    names = _names(exc)
    if isinstance(exc, IntegrityError | IllegalTransition | InsufficientBalance):
        return FaultKind.invariant
    if isinstance(exc, StateSaveRefused | StateFileCorrupt) or names & INVARIANT_NAMES:
        return FaultKind.invariant
    if isinstance(exc, TransientFault) or names & TRANSIENT_NAMES:
        return FaultKind.transient
    if type(exc) is StateStoreError:  # cannot write the file now (disk full); the previous one is intact
        return FaultKind.transient
    if isinstance(exc, ConnectionError | TimeoutError | socket.timeout):
        return FaultKind.transient
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN):
        return FaultKind.transient
    if names & _RPC_ERROR_NAMES:
        text = str(exc).lower()
        if any(m in text for m in TRANSIENT_RPC_MESSAGES):
            return FaultKind.transient
    if isinstance(exc, StateError):
        return FaultKind.invariant
    return None


def classify(exc: BaseException) -> Fault:
    """Which kind of failure `exc` is (see the module docstring), with a one-sentence reason."""
    found: dict[FaultKind, BaseException] = {}
    for link in exception_chain(exc):
        kind = _kind_of_one(link)
        if kind is not None:
            found[kind] = link  # the deepest one: the cause says more than a wrapper
    for kind in (FaultKind.invariant, FaultKind.transient):
        if kind in found:
            return Fault(kind, reason_of(found[kind]), exc)
    return Fault(FaultKind.strategy, reason_of(exc), exc)


def reason_of(exc: BaseException) -> str:
    """The first line of the exception's message (redacted), or its class name."""
    summary = getattr(exc, "summary", None)  # a strategy wrapper's one-line summary
    text = str(summary if summary else exc).strip()
    first = text.splitlines()[0] if text else ""
    return redact(first) or type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """True for failures the next attempt may not see (see `classify`)."""
    return classify(exc).kind == FaultKind.transient


class DegradedListener(Protocol):
    """What `retry_transient` tells about an episode (the Reporter)."""

    def degraded(
        self,
        component: str,
        reason: str,
        *,
        since: datetime.datetime,
        failures: int,
        next_attempt_at: datetime.datetime | None = None,
        exc: BaseException | None = None,
    ) -> None: ...

    def recovered(self, *, since: datetime.datetime, failures: int) -> None: ...


def retry_transient(
    what: str,
    step: Callable[[], T],
    listener: DegradedListener,
    *,
    first_delay: float = 5.0,
    max_delay: float = 60.0,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], datetime.datetime] = utcnow,
) -> T:
    """Run `step` until it succeeds, retrying transient faults with backoff (5 s, 10 s, ... 60 s).

    For start-up (connect, resolve what the last run left open): a node that is down when the
    executor starts makes it wait, degraded, instead of exiting. Strategy errors and invariant
    violations are raised at once. A signal (KeyboardInterrupt) ends the wait.
    """
    since: datetime.datetime | None = None
    failures = 0
    while True:
        try:
            result = step()
        except Exception as exc:
            fault = classify(exc)
            if fault.kind != FaultKind.transient:
                raise
            failures += 1
            since = since or clock()
            delay = min(max_delay, first_delay * 2 ** (failures - 1))
            log = logger.warning if failures == 1 else logger.info
            log(
                "Degraded: %s failed on a transient fault (%s); retrying in %.0fs.", what, fault.reason, delay
            )
            listener.degraded(
                what,
                fault.reason,
                since=since,
                failures=failures,
                next_attempt_at=clock() + datetime.timedelta(seconds=delay),
                exc=exc,
            )
            sleep(delay)
            continue
        if since is not None:
            logger.warning("Recovered: %s succeeded after %d failed attempt(s).", what, failures)
            listener.recovered(since=since, failures=failures)
        return result
