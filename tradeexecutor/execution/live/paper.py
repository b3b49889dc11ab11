"""Paper trading: live prices from the chain, fills booked as if executed, nothing sent.

`--execution-type dummy` runs a strategy against the real market without a key or money:
each trade is priced from the pools' reserves at execution time (fee and price impact
included) and settled through the same State operations a real fill uses.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from tradeexecutor.execution.models import Checkpoint
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.pricing import PricingModel


class PaperExecution:
    def __init__(self, pricing: PricingModel, clock: Callable[[], datetime.datetime] = utcnow) -> None:
        self.pricing = pricing
        self.clock = clock

    def execute_trades(
        self, ts: datetime.datetime, state: State, trades: list[TradeExecution], checkpoint: Checkpoint
    ) -> None:
        for trade in sorted(trades, key=lambda t: t.is_buy):  # sells first free the cash buys use
            now = self.clock()
            state.start_trade(trade, now)
            pair, reserve = trade.pair, trade.reserve_currency
            if trade.is_buy:
                quote = self.pricing.get_buy_price(now, pair, trade.planned_reserve)
                quantity_raw = pair.base.to_raw(trade.planned_reserve / quote.price)
                reserve_raw = reserve.to_raw(trade.planned_reserve)
            else:
                quantity = -trade.planned_quantity
                quote = self.pricing.get_sell_price(now, pair, quantity)
                quantity_raw = -pair.base.to_raw(quantity)
                reserve_raw = reserve.to_raw(quantity * quote.price)
            state.settle_trade_success(
                trade,
                now,
                executed_quantity_raw=quantity_raw,
                executed_reserve_raw=reserve_raw,
                executed_price=quote.price,
                lp_fees_reserve=quote.lp_fee,
            )
        checkpoint()
