"""`trade-executor check-wallet`: is everything in place to trade live, without trading?

Prints chain, block, hot wallet, gas money, reserve balance, gas pricing, the execution
models and how every pair is routed (`--json`: the same as one JSON object); exits 1 after
listing every problem found (so all can be fixed in one go), 0 when there is none.
"""

from __future__ import annotations

from tradeexecutor.cli.options import (
    ApprovalModeOption,
    CandleStartBlock,
    ExchangeSlug,
    GasPriceMethodOption,
    JsonOutput,
    MaxSlippage,
    MinGasBalance,
    OptionalDeploymentFile,
    StrategyFile,
    TokenAddresses,
)
from tradeexecutor.cli.output import echo_result
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ApprovalMode, GasPriceMethod


def check_wallet(
    strategy_file: StrategyFile = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
    approval_mode: ApprovalModeOption = ApprovalMode.exact,
    min_gas_balance: MinGasBalance = None,
    json_output: JsonOutput = False,
) -> None:
    """Check the node, hot wallet, gas money, reserve and routing before going live."""
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.toolbox.preflight import check_wallet_readiness

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
    )
    settings = ExecutionSettings(
        gas_price_method=gas_price_method,
        max_slippage_bps=max_slippage,
        approval_mode=approval_mode,
        min_gas_balance=min_gas_balance,
    )
    result = check_wallet_readiness(setup, HotWallet.from_env(), settings)
    echo_result(result, json_output)
    if result.problems:
        raise UserError(
            f"check-wallet found {len(result.problems)} problem(s), listed "
            f"{'in the JSON' if json_output else 'above'}: fix them and run it again."
        )
