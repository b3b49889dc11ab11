"""The test trade behind `perform-test-trade`: buy a little of a token and sell it back, for real.

Proves, with real money and the executor's own execution model, that routing, gas pricing,
signing, broadcasting and booking work. Both trades are recorded in the state file as
`test` trades with a note saying so. `say` receives progress sentences as they happen (the
CLI prints them, or sends them to stderr under `--json`); the outcome is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError

if TYPE_CHECKING:
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import LiveSetup
    from tradeexecutor.state.identifiers import TradingPairIdentifier
    from tradeexecutor.state.trade import TradeExecution

NOTE = "Test trade made by `trade-executor perform-test-trade`, not by the strategy."


@dataclass(frozen=True)
class Fill:
    trade_id: int
    quantity: Decimal  # base tokens, positive
    reserve: Decimal  # reserve currency paid or received
    price: Decimal
    tx_hash: str | None

    @classmethod
    def of(cls, trade: TradeExecution) -> Fill:
        assert trade.executed_price is not None
        txs = trade.blockchain_transactions
        return cls(
            trade.trade_id,
            abs(trade.executed_quantity),
            trade.executed_reserve,
            trade.executed_price,
            txs[-1].tx_hash if txs else None,
        )


@dataclass(frozen=True)
class RoundTripOutcome:
    pair: str
    reserve: str
    size: Decimal
    quoted_price: Decimal
    position_id: int
    buy: Fill
    sell: Fill
    gas: Decimal
    gas_symbol: str
    state_file: Path

    @property
    def cost(self) -> Decimal:
        """What the round trip cost in the reserve currency: fees and price impact."""
        return self.buy.reserve - self.sell.reserve

    def document(self) -> dict[str, Any]:
        def fill(f: Fill) -> dict[str, Any]:
            return {
                "trade_id": f.trade_id,
                "quantity": f.quantity.normalize(),
                "value": f.reserve.normalize(),
                "price": f.price,
                "tx_hash": f.tx_hash,
            }

        return {
            "ok": True,
            "pair": self.pair,
            "reserve_currency": self.reserve,
            "size": self.size,
            "quoted_price": self.quoted_price,
            "position_id": self.position_id,
            "buy": fill(self.buy),
            "sell": fill(self.sell),
            "round_trip_cost": self.cost.normalize(),
            "gas": self.gas.normalize(),
            "gas_symbol": self.gas_symbol,
            "state_file": str(self.state_file),
        }


def perform_test_trade(
    setup: LiveSetup,
    wallet: HotWallet,
    pair: str | None,
    size: Decimal,
    max_slippage: int,
    settings: ExecutionSettings,
    path: Path,
    strategy_id: str,
    say: Callable[[str], object],
) -> RoundTripOutcome:
    """Buy `pair` (default: the strategy's only pair) for `size` of reserve and sell it back."""
    from tradeexecutor.ethereum.gas import human
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.execution.live.state_access import open_state
    from tradeexecutor.state.time import utcnow
    from tradeexecutor.state.trade import TradeStatus, TradeType
    from tradeexecutor.strategy.position_manager import PositionManager

    if size <= 0:
        raise UserError("--test-trade-size must be more than 0.")
    chosen = setup.pair_by_ticker(pair) if pair else default_pair(setup)
    with open_state(path, create=True, strategy_id=strategy_id) as (state, checkpoint):
        models = build_live_models(
            setup.web3,
            wallet,
            setup.deployments,
            setup.reserve,
            settings,
            known_pairs=setup.pairs,
            checkpoint=checkpoint,
        )
        now = utcnow()
        models.sync.sync(now, state)
        checkpoint()
        report = models.sync.last_recovery
        if report is not None and report.unresolved:
            raise UserError(
                f"The state file {path} has unresolved transactions ({report.unresolved[0]}): run "
                "`trade-executor repair` first."
            )
        if state.portfolio.open_position_for_pair(chosen) is not None:
            raise UserError(
                f"A position in {chosen.ticker} is already open: a test trade would mix with it; use another "
                "--test-trade-pair or test before the strategy trades."
            )
        reserve = setup.reserve
        pm = PositionManager(now, state, models.pricing, max_slippage)
        quote = models.pricing.get_buy_price(now, chosen, size)
        say(
            f"Making a test trade on pair: {chosen}, for {size:f} {reserve.symbol} price is "
            f"{quote.price:f} {chosen.base.symbol}/{reserve.symbol}"
        )

        def run(trades: list[TradeExecution], what: str) -> TradeExecution:
            models.execution.execute_trades(now, state, trades, checkpoint)
            trade = trades[0]
            if trade.is_pending:
                raise UserError(
                    f"The test {what} of {chosen.ticker} is not finished: its transaction was sent but is not "
                    f"mined yet; the state {path} records it. Run `trade-executor repair` to follow it up."
                )
            if trade.status != TradeStatus.success:
                raise UserError(f"The test {what} of {chosen.ticker} failed: {trade.failure_reason}.")
            return trade

        buy = run(pm.open_1x_long(chosen, size, notes=NOTE, trade_type=TradeType.test), "buy")
        position = state.position_of(buy)
        position.notes = NOTE
        checkpoint()
        say(
            f"Bought {human(buy.executed_quantity)} {chosen.base.symbol} for {human(buy.executed_reserve)} "
            f"{reserve.symbol} at {buy.executed_price:f} (tx {buy.blockchain_transactions[-1].tx_hash})"
        )
        say(
            f"Position {position} worth {position.value():f} {reserve.symbol} open. Now closing the position."
        )
        sell = run(pm.close_position(position, TradeType.test, NOTE), "sell")
        say(
            f"Sold {human(-sell.executed_quantity)} {chosen.base.symbol} for {human(sell.executed_reserve)} "
            f"{reserve.symbol} at {sell.executed_price:f} (tx {sell.blockchain_transactions[-1].tx_hash})"
        )
        gas_asset = models.sync.gas_asset
        gas = gas_asset.to_decimal(sum(t.gas_fees_native_raw for t in (buy, sell)))
        outcome = RoundTripOutcome(
            pair=chosen.ticker,
            reserve=reserve.symbol,
            size=size,
            quoted_price=quote.price,
            position_id=position.position_id,
            buy=Fill.of(buy),
            sell=Fill.of(sell),
            gas=gas,
            gas_symbol=gas_asset.symbol,
            state_file=path,
        )
        say(
            f"Position {state.position_of(sell)} closed; round trip cost {human(outcome.cost)} {reserve.symbol} "
            f"in fees and price impact, {human(gas)} {gas_asset.symbol} in gas."
        )
        models.sync.sync(utcnow(), state)
        checkpoint()
    say(f"Both trades are recorded in {path} as test trades.")
    return outcome


def default_pair(setup: LiveSetup) -> TradingPairIdentifier:
    wanted = [setup.pair_by_ticker(t) for t in setup.module.trading_pairs] or list(setup.pairs)
    if len(wanted) != 1:
        tickers = ", ".join(p.ticker for p in wanted)
        raise UserError(f"The strategy trades several pairs ({tickers}): choose one with --test-trade-pair.")
    return wanted[0]
