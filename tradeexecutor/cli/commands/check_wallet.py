"""`trade-executor check-wallet`: is everything in place to trade live, without trading?

Prints chain, block, hot wallet, gas money, reserve balance, gas pricing, the execution
models and how every pair is routed; exits 1 after listing every problem found (so all
can be fixed in one go), 0 when there is none.
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import (
    ApprovalModeOption,
    CandleStartBlock,
    ExchangeSlug,
    GasPriceMethodOption,
    MaxSlippage,
    MinGasBalance,
    OptionalDeploymentFile,
    StrategyFile,
    TokenAddresses,
)
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
) -> None:
    """Check the node, hot wallet, gas money, reserve and routing before going live."""
    from tradeexecutor.ethereum.preflight import check_wallet as gather
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.uniswap_v2.routing import TradeSide
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.stack import build_live_models

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
    )
    wallet = HotWallet.from_env()
    report = gather(
        setup.web3,
        wallet.address,
        setup.module.chain_id,
        setup.reserve.address,
        setup.deployments,
        gas_price_method,
        min_gas_balance,
    )
    settings = ExecutionSettings(
        gas_price_method=gas_price_method,
        max_slippage_bps=max_slippage,
        approval_mode=approval_mode,
        min_gas_balance=min_gas_balance,
    )
    models = build_live_models(
        setup.web3, wallet, setup.deployments, setup.reserve, settings, known_pairs=setup.pairs
    )
    lines = report.lines()
    at = lines.index("Routing details")
    execution = ["Execution details", *(f"  {role} is {name}" for role, name in models.names())]
    routes = []
    problems = list(report.problems)
    for pair in setup.pairs:
        try:
            route = models.routing.route(TradeSide.buy, pair)
            models.routing.fetch([pair])  # every pool on the route exists and has reserves
            routes.append(
                f"  {pair.ticker} buys route {route} through {' and '.join(p.pool_address for p in route.pools)}"
            )
        except UserError as e:
            routes.append(f"  {pair.ticker}: PROBLEM: {e}")
            problems.append(str(e))
    status = [f"PROBLEM: {p}" for p in problems] or ["All ok"]
    body = [line for line in lines[at:] if not line.startswith("PROBLEM: ") and line != "All ok"]
    for line in [*lines[:at], *execution, *body, *routes, *status]:
        typer.echo(line)
    if problems:
        raise UserError(
            f"check-wallet found {len(problems)} problem(s), listed above: fix them and run it again."
        )
