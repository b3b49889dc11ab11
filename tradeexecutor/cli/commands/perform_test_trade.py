"""`trade-executor perform-test-trade`: buy ~1 unit of reserve of the strategy's token and sell it back.

Proves, with real money and the executor's own execution model, that routing, gas
pricing, signing, broadcasting and booking work. Both trades are recorded in the state
file as `test` trades with a note saying so. Exit 0 only when both succeeded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from tradeexecutor.cli.options import (
    ApprovalModeOption,
    CandleStartBlock,
    ConfirmationBlockCount,
    ConfirmationTimeout,
    ContinueSimulation,
    ExchangeSlug,
    GasPriceMethodOption,
    Id,
    MaxSlippage,
    MinGasBalance,
    OptionalDeploymentFile,
    Simulate,
    SimulateReserve,
    StateFile,
    StrategyFile,
    TestTradePair,
    TestTradeSize,
    TokenAddresses,
)
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ApprovalMode, GasPriceMethod

if TYPE_CHECKING:
    from pathlib import Path

    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import LiveSetup
    from tradeexecutor.state.identifiers import TradingPairIdentifier

NOTE = "Test trade made by `trade-executor perform-test-trade`, not by the strategy."


def perform_test_trade(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    pair: TestTradePair = None,
    test_trade_size: TestTradeSize = Decimal(1),
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
    approval_mode: ApprovalModeOption = ApprovalMode.exact,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 300.0,
    min_gas_balance: MinGasBalance = None,
    simulate: Simulate = False,
    simulate_reserve: SimulateReserve = None,
    continue_simulation: ContinueSimulation = False,
) -> None:
    """Buy the strategy's token for --test-trade-size of reserve and sell it back, recorded in the state."""
    from tradeexecutor.cli.simulation import simulate_if_asked
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.state_access import state_path

    if test_trade_size <= 0:
        raise UserError("--test-trade-size must be more than 0.")
    real_path = state_path(state_file, strategy_file, id)
    with simulate_if_asked(
        simulate, simulate_reserve, strategy_file, real_path, continue_simulation
    ) as scope:
        setup = connect_live(
            strategy_file,
            deployment_file=deployment_file,
            exchange_slug=exchange_slug,
            token_addresses=token_addresses,
            candle_start_block=candle_start_block,
        )
        scope.connected(setup)
        settings = ExecutionSettings(
            gas_price_method=gas_price_method,
            max_slippage_bps=max_slippage,
            approval_mode=approval_mode,
            confirmation_block_count=confirmation_block_count,
            confirmation_timeout=confirmation_timeout,
            min_gas_balance=min_gas_balance,
        )
        strategy_id = id or (strategy_file.stem if strategy_file else "")
        _test_trade(
            setup,
            HotWallet.from_env(),
            pair,
            test_trade_size,
            max_slippage,
            settings,
            scope.state_path,
            strategy_id,
        )
    if scope.simulating:
        typer.echo(f"Simulated: the real chain and {real_path} were not touched.")


def _test_trade(
    setup: LiveSetup,
    wallet: HotWallet,
    pair: str | None,
    test_trade_size: Decimal,
    max_slippage: int,
    settings: ExecutionSettings,
    path: Path,
    strategy_id: str,
) -> None:
    from tradeexecutor.ethereum.gas import human
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.execution.live.state_access import open_state
    from tradeexecutor.state.time import utcnow
    from tradeexecutor.state.trade import TradeExecution, TradeStatus, TradeType
    from tradeexecutor.strategy.position_manager import PositionManager

    chosen = setup.pair_by_ticker(pair) if pair else _default_pair(setup)
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
                f"A position in {chosen.ticker} is already open: a test trade would mix with it; use another --test-trade-pair "
                "or test before the strategy trades."
            )
        reserve = setup.reserve
        pm = PositionManager(now, state, models.pricing, max_slippage)
        quote = models.pricing.get_buy_price(now, chosen, test_trade_size)
        typer.echo(
            f"Making a test trade on pair: {chosen}, for {test_trade_size:f} {reserve.symbol} price is "
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

        buy = run(pm.open_1x_long(chosen, test_trade_size, notes=NOTE, trade_type=TradeType.test), "buy")
        position = state.position_of(buy)
        position.notes = NOTE
        checkpoint()
        typer.echo(
            f"Bought {human(buy.executed_quantity)} {chosen.base.symbol} for {human(buy.executed_reserve)} "
            f"{reserve.symbol} at {buy.executed_price:f} (tx {buy.blockchain_transactions[-1].tx_hash})"
        )
        typer.echo(
            f"Position {position} worth {position.value():f} {reserve.symbol} open. Now closing the position."
        )
        sell = run(pm.close_position(position, TradeType.test, NOTE), "sell")
        typer.echo(
            f"Sold {human(-sell.executed_quantity)} {chosen.base.symbol} for {human(sell.executed_reserve)} "
            f"{reserve.symbol} at {sell.executed_price:f} (tx {sell.blockchain_transactions[-1].tx_hash})"
        )
        gas = sum(t.gas_fees_native_raw for t in (buy, sell))
        typer.echo(
            f"Position {state.position_of(sell)} closed; round trip cost "
            f"{human(buy.executed_reserve - sell.executed_reserve)} {reserve.symbol} in fees and price impact, "
            f"{human(models.sync.gas_asset.to_decimal(gas))} {models.sync.gas_asset.symbol} in gas."
        )
        models.sync.sync(utcnow(), state)
        checkpoint()
    typer.echo(f"Both trades are recorded in {path} as test trades.")
    typer.echo("All ok")


def _default_pair(setup: LiveSetup) -> TradingPairIdentifier:
    wanted = [setup.pair_by_ticker(t) for t in setup.module.trading_pairs] or list(setup.pairs)
    if len(wanted) != 1:
        tickers = ", ".join(p.ticker for p in wanted)
        raise UserError(f"The strategy trades several pairs ({tickers}): choose one with --test-trade-pair.")
    return wanted[0]
