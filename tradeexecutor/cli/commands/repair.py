"""`trade-executor repair`: list what a crash or an outage left unfinished, and with --yes resolve it.

Without --yes nothing is changed: unfinished trades and frozen positions are listed and the
exit code is 1 if there are any (0 when there is nothing to repair). With --yes every
unfinished trade is resolved from the chain exactly as a restart would (TradeRecovery). A
transaction still pending after the wait is never just marked failed, since it could be
mined later: it is cancelled by a 0-value self-transfer at its nonce (execution/live/cancel.py,
signed with PRIVATE_KEY), and its trade is resolved once the chain has decided between the
two. Frozen positions without unfinished trades are unfrozen. Exit 1 while anything is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from tradeexecutor.cli.options import (
    ConfirmationBlockCount,
    ConfirmationTimeout,
    ExchangeSlug,
    GasPriceMethodOption,
    Id,
    OptionalDeploymentFile,
    RepairYes,
    StateFile,
    StrategyFile,
    TokenAddresses,
)
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import GasPriceMethod

if TYPE_CHECKING:
    from web3 import Web3

    from tradeexecutor.state.state import State
    from tradeexecutor.state.trade import TradeExecution


def repair(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 60.0,
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    yes: RepairYes = False,
) -> None:
    """List unfinished trades and frozen positions; with --yes, resolve them from the chain."""
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.recovery import TradeRecovery
    from tradeexecutor.execution.live.routes import LiveRouting
    from tradeexecutor.execution.live.state_access import open_state, state_path
    from tradeexecutor.state.time import utcnow

    path = state_path(state_file, strategy_file, id)
    with open_state(path, create=False) as (state, checkpoint):
        unfinished = TradeRecovery.unfinished_trades(state)
        frozen = list(state.portfolio.frozen_positions.values())
        if not unfinished and not frozen:
            typer.echo(f"Nothing to repair in {path}: no unfinished trade, no frozen position.")
            return
        typer.echo(f"State file {path}:")
        for trade in unfinished:
            typer.echo(f"  {trade}")
            for tx in trade.blockchain_transactions:
                typer.echo(f"    {tx.function} {tx.tx_hash} nonce {tx.nonce}: {tx.status}")
        for position in frozen:
            typer.echo(
                f"  {position} frozen since {position.frozen_at:%Y-%m-%d %H:%M} UTC: {position.frozen_reason}"
            )
        if not yes:
            raise UserError(
                f"{len(unfinished)} unfinished trade(s) and {len(frozen)} frozen position(s) need repair: "
                "run again with --yes to resolve them from the chain."
            )

        setup = connect_live(
            strategy_file,
            deployment_file=deployment_file,
            exchange_slug=exchange_slug,
            token_addresses=token_addresses,
        )
        routing = LiveRouting(setup.web3, setup.deployments, setup.reserve, known_pairs=setup.pairs)
        recovery = TradeRecovery(
            setup.web3,
            routing,
            confirmation_block_count=confirmation_block_count,
            timeout=confirmation_timeout,
        )
        report = recovery.recover(state, checkpoint)
        for result in report.trades:
            typer.echo(f"Resolved from the chain: {result}")
        pending = [state.portfolio.get_trade(r.trade_id) for r in report.pending]
        if pending:
            settings = (gas_price_method, confirmation_block_count, confirmation_timeout)
            _cancel(state, pending, setup.web3, *settings, checkpoint)
            report = recovery.recover(state, checkpoint)
            for result in report.trades:
                typer.echo(f"Resolved from the chain: {result}")
        for result in report.unresolved:
            if result.pending:
                continue  # its cancellation has not been mined yet: never give up on it unreplaced
            trade = state.portfolio.get_trade(result.trade_id)
            note = (
                f"marked failed by `trade-executor repair`: {result.detail}. If its transaction is mined later, "
                "the next wallet sync books the difference with its own ledger entry"
            )
            state.settle_trade_failure(trade, utcnow(), note)
            typer.echo(f"  Trade #{trade.trade_id} {note}")
        left = report.pending
        for position in list(state.portfolio.frozen_positions.values()):
            if not position.pending_trades():
                state.unfreeze_position(
                    position, utcnow(), "unfrozen by `trade-executor repair`: no unfinished trade"
                )
                typer.echo(f"  Unfroze {position}")
        checkpoint()
    if left:
        raise UserError(
            f"{len(left)} trade(s) are still unresolved (see above); the state is saved: run "
            "`trade-executor repair --yes` again once the chain has settled them."
        )
    typer.echo("Repair done.")


def _cancel(
    state: State,
    trades: list[TradeExecution],
    web3: Web3,
    gas_price_method: GasPriceMethod,
    confirmation_block_count: int,
    timeout: float,
    checkpoint: Callable[[], None],
) -> None:
    """Cancel the stuck transactions of `trades` from the hot wallet that sent them."""
    from tradeexecutor.ethereum.tx import TransactionPipeline
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.cancel import cancel_stuck_transactions, foreign_sender

    try:
        wallet = HotWallet.from_env()
    except UserError as e:
        raise UserError(
            f"{len(trades)} trade(s) have transactions still pending, and giving up on them safely means "
            f"cancelling them from the hot wallet: {e}"
        ) from None
    for trade in trades:
        other = foreign_sender(trade, wallet.address)
        if other is not None:
            raise UserError(
                f"Transaction {other.tx_hash} of trade #{trade.trade_id} was sent from {other.from_address}, "
                f"not from PRIVATE_KEY's {wallet.address}: set the key of the wallet that sent it."
            )
    pipeline = TransactionPipeline(
        web3, wallet, gas_price_method, confirmation_block_count=confirmation_block_count
    )
    for trade in trades:
        typer.echo(
            f"Trade #{trade.trade_id} has transactions still pending: cancelling them "
            "(a 0-value self-transfer at their nonce)."
        )
        for cancellation in cancel_stuck_transactions(state, trade, pipeline, checkpoint, timeout=timeout):
            typer.echo(f"  {cancellation}")
