"""`trade-executor perform-test-trade`: buy ~1 unit of reserve of the strategy's token and sell it back.

Proves, with real money and the executor's own execution model, that routing, gas
pricing, signing, broadcasting and booking work (`tradeexecutor.toolbox.round_trip`). Both
trades are recorded in the state file as `test` trades with a note saying so. Exit 0 only
when both succeeded; `--json` prints the outcome as one JSON object (progress goes to stderr).
"""

from __future__ import annotations

from decimal import Decimal

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
    JsonOutput,
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
from tradeexecutor.cli.output import echo_json
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ApprovalMode, GasPriceMethod


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
    json_output: JsonOutput = False,
) -> None:
    """Buy the strategy's token for --test-trade-size of reserve and sell it back, recorded in the state."""
    from tradeexecutor.cli.simulation import simulate_if_asked
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.state_access import state_path
    from tradeexecutor.toolbox.round_trip import perform_test_trade as round_trip

    if test_trade_size <= 0:
        raise UserError("--test-trade-size must be more than 0.")
    say = (lambda text: typer.echo(text, err=True)) if json_output else typer.echo  # stdout: the result only
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
        scope.connected(setup, say)
        settings = ExecutionSettings(
            gas_price_method=gas_price_method,
            max_slippage_bps=max_slippage,
            approval_mode=approval_mode,
            confirmation_block_count=confirmation_block_count,
            confirmation_timeout=confirmation_timeout,
            min_gas_balance=min_gas_balance,
        )
        strategy_id = id or (strategy_file.stem if strategy_file else "")
        outcome = round_trip(
            setup,
            HotWallet.from_env(),
            pair,
            test_trade_size,
            max_slippage,
            settings,
            scope.state_path,
            strategy_id,
            say,
        )
    if scope.simulating:
        say(f"Simulated: the real chain and {real_path} were not touched.")
    if json_output:
        echo_json({**outcome.document(), "simulated": scope.simulating})
    else:
        typer.echo("All ok")
