"""`trade-executor repair`: list what a crash or an outage left unfinished, and with --yes resolve it.

Without --yes nothing is changed: unfinished trades and frozen positions are listed and the
exit code is 1 if there are any (0 when there is nothing to repair). With --yes every
unfinished trade is resolved from the chain exactly as a restart would (TradeRecovery);
whatever the chain cannot settle (a transaction still pending after the wait) is marked
failed with a note saying so, and frozen positions without unfinished trades are unfrozen.
No balance is ever invented: a transaction that is mined after being given up on shows up
at the next wallet sync as a difference with its own ledger entry (docs/troubleshooting.md).
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import (
    ConfirmationBlockCount,
    ConfirmationTimeout,
    ExchangeSlug,
    Id,
    OptionalDeploymentFile,
    RepairYes,
    StateFile,
    StrategyFile,
    TokenAddresses,
)
from tradeexecutor.errors import UserError


def repair(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 60.0,
    yes: RepairYes = False,
) -> None:
    """List unfinished trades and frozen positions; with --yes, resolve them from the chain."""
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.recovery import RecoveryOutcome, TradeRecovery
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
            if result.outcome == RecoveryOutcome.unresolved:
                trade = state.portfolio.get_trade(result.trade_id)
                note = (
                    f"marked failed by `trade-executor repair`: {result.detail}. If its transaction is mined later, "
                    "the next wallet sync books the difference with its own ledger entry"
                )
                state.settle_trade_failure(trade, utcnow(), note)
                typer.echo(f"  Trade #{trade.trade_id} {note}")
        for position in list(state.portfolio.frozen_positions.values()):
            if not position.pending_trades():
                state.unfreeze_position(
                    position, utcnow(), "unfrozen by `trade-executor repair`: no unfinished trade"
                )
                typer.echo(f"  Unfroze {position}")
        checkpoint()
    typer.echo("Repair done.")
