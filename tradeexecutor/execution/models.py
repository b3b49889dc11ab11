"""The seams between the cycle runner and the world it runs in.

A backtest and a live executor differ only in the implementations plugged in here (and
in the clock and data source): the cycle itself is the same code.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Protocol

from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.position_manager import PositionManager

Checkpoint = Callable[[], None]
"""Persist the state now. Live execution calls it after signing and before broadcasting."""

DecideTrades = Callable[[datetime.datetime, PositionManager], list[TradeExecution]]
"""The strategy's decision for one cycle, already bound to its universe and parameters."""


class ExecutionModel(Protocol):
    def execute_trades(
        self,
        ts: datetime.datetime,
        state: State,
        trades: list[TradeExecution],
        checkpoint: Checkpoint,
    ) -> None:
        """Take planned trades to a final status (success or failed), booking them in the state."""
        ...


class SyncModel(Protocol):
    def sync(self, ts: datetime.datetime, state: State) -> None:
        """Bring the state up to date with the world before deciding (balances, pending transactions)."""
        ...

    def check_node(self, state: State) -> None:
        """Raise when the world cannot be trusted right now: a node of another chain (an invariant
        violation) or one behind blocks the state already saw (transient). Cheap: one round trip."""
        ...


class ValuationModel(Protocol):
    def revalue(self, ts: datetime.datetime, state: State) -> None:
        """Set every open position's last price."""
        ...


class NoSync:
    """Backtests own their whole world: nothing outside the state can change it."""

    def sync(self, ts: datetime.datetime, state: State) -> None:
        return None

    def check_node(self, state: State) -> None:
        return None
