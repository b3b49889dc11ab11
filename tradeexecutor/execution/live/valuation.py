"""`ValuationModel` for live trading: each position at what selling all of it would fetch now.

Not the mid price: a position too large for its pool is worth what the pool pays for it, fee
and price impact included. Every pool of every position is read at one block in one batch,
so all positions are valued at the same instant.
"""

from __future__ import annotations

import datetime

from tradeexecutor.ethereum.uniswap_v2.routing import TradeSide
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.state.state import State


class UniswapV2Valuation:
    def __init__(self, routing: LiveRouting) -> None:
        self.routing = routing

    def revalue(self, ts: datetime.datetime, state: State) -> None:
        portfolio = state.portfolio
        positions = [
            p
            for p in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values())
            if p.quantity_raw > 0
        ]
        if not positions:
            return
        reserves = self.routing.fetch([p.pair for p in positions])
        for position in positions:
            route = self.routing.route(TradeSide.sell, position.pair)
            out = self.routing.amounts_out(route, reserves, position.quantity_raw)[-1]
            if out > 0:
                price = self.routing.reserve.to_decimal(out) / position.quantity
            else:  # dust a pool pays nothing for: its mid price is the best estimate
                price = self.routing.mid_rate(route, reserves)
            state.revalue_position(position, ts, price)
