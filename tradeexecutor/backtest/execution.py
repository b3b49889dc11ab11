"""Simulated execution and valuation for backtests.

`BacktestExecution` fills each trade at the pricing model's price for the cycle timestamp
and books it with `State.settle_trade_success`, the very call live execution makes after a
confirmed swap: a backtest moves balances, writes ledger entries and closes positions
exactly as live trading would. Trades go planned -> started -> success (no broadcast).
"""

from __future__ import annotations

import datetime

from tradeexecutor.backtest.prices import CandlePrices
from tradeexecutor.backtest.pricing import BacktestPricing
from tradeexecutor.execution.models import Checkpoint
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution


class BacktestExecution:
    def __init__(self, pricing: BacktestPricing) -> None:
        self.pricing = pricing

    def execute_trades(
        self,
        ts: datetime.datetime,
        state: State,
        trades: list[TradeExecution],
        checkpoint: Checkpoint,
    ) -> None:
        for trade in trades:
            state.start_trade(trade, ts)
            if trade.is_buy:
                fill = self.pricing.quote_buy(ts, trade.pair, trade.planned_reserve)
                quantity_raw = fill.quantity_raw
            else:
                fill = self.pricing.quote_sell(ts, trade.pair, -trade.planned_quantity)
                quantity_raw = -fill.quantity_raw
            if fill.quantity_raw == 0:
                state.settle_trade_failure(
                    trade,
                    ts,
                    f"the {trade.pair.ticker} fill rounds to zero {trade.pair.base.symbol}: the trade is too small",
                )
                continue
            state.settle_trade_success(
                trade,
                ts,
                executed_quantity_raw=quantity_raw,
                executed_reserve_raw=fill.reserve_raw,
                executed_price=fill.price(trade.pair),
                lp_fees_reserve=fill.lp_fee,
            )


class BacktestValuation:
    """Values every open or frozen position at the latest close the strategy can see
    (`CandlePrices.valuation_price`)."""

    def __init__(self, prices: CandlePrices) -> None:
        self.prices = prices

    def revalue(self, ts: datetime.datetime, state: State) -> None:
        portfolio = state.portfolio
        if not portfolio.open_positions and not portfolio.frozen_positions:
            return
        for positions in (portfolio.open_positions, portfolio.frozen_positions):
            for position in positions.values():
                state.revalue_position(position, ts, self.prices.valuation_price(ts, position.pair))
