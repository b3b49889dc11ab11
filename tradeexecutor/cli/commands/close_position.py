"""`trade-executor close-position ID` and `close-all`: sell positions back to the reserve by hand.

Both hold the state file's lock for the whole run (so they refuse while an executor runs on
it), sync the wallet first (which resolves what a crash left unfinished), show what will be
sold at what expected price and ask (`--yes` skips the question), then sell through the live
execution model as trades of type `manual`. Exit 0 only when every sell succeeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tradeexecutor.cli.options import (
    ApprovalModeOption,
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
    TokenAddresses,
    Yes,
)
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ApprovalMode, GasPriceMethod

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal
    from pathlib import Path

    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.execution.live.connect import LiveSetup

PositionId = Annotated[int, typer.Argument(help="Id of the open position to close (see show-positions).")]


def close_position(
    position_id: PositionId,
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
    approval_mode: ApprovalModeOption = ApprovalMode.exact,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 300.0,
    min_gas_balance: MinGasBalance = None,
    yes: Yes = False,
    simulate: Simulate = False,
    simulate_reserve: SimulateReserve = None,
    continue_simulation: ContinueSimulation = False,
) -> None:
    """Sell one open position back to the reserve currency (asks first; --yes for scripts)."""
    options = dict(locals())
    _run(options.pop("position_id"), **options)


def close_all(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
    approval_mode: ApprovalModeOption = ApprovalMode.exact,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 300.0,
    min_gas_balance: MinGasBalance = None,
    yes: Yes = False,
    simulate: Simulate = False,
    simulate_reserve: SimulateReserve = None,
    continue_simulation: ContinueSimulation = False,
) -> None:
    """Sell every open position back to the reserve currency; frozen ones are listed with how to repair them."""
    _run(None, **locals())


def _run(
    position_id: int | None,
    *,
    strategy_file: Path | None,
    state_file: Path | None,
    id: str | None,
    deployment_file: Path | None,
    exchange_slug: str | None,
    token_addresses: str | None,
    gas_price_method: GasPriceMethod,
    max_slippage: int,
    approval_mode: ApprovalMode,
    confirmation_block_count: int,
    confirmation_timeout: float,
    min_gas_balance: Decimal | None,
    yes: bool,
    simulate: bool,
    simulate_reserve: Decimal | None,
    continue_simulation: bool,
) -> None:
    from tradeexecutor.cli.simulation import simulate_if_asked
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.execution.live.state_access import state_path

    settings = ExecutionSettings(
        gas_price_method=gas_price_method,
        max_slippage_bps=max_slippage,
        approval_mode=approval_mode,
        confirmation_block_count=confirmation_block_count,
        confirmation_timeout=confirmation_timeout,
        min_gas_balance=min_gas_balance,
    )
    real_path = state_path(state_file, strategy_file, id)
    with simulate_if_asked(
        simulate, simulate_reserve, strategy_file, real_path, continue_simulation
    ) as scope:

        def connect() -> LiveSetup:
            from tradeexecutor.execution.live.connect import connect_live

            setup = connect_live(
                strategy_file,
                deployment_file=deployment_file,
                exchange_slug=exchange_slug,
                token_addresses=token_addresses,
            )
            scope.connected(setup)
            return setup

        failures = _close(position_id, scope.state_path, connect, settings, yes)
    if scope.simulating:
        typer.echo(f"Simulated: the real chain and {real_path} were not touched.")
    if failures:
        raise UserError(failures)


def _close(
    position_id: int | None,
    path: Path,
    connect: Callable[[], LiveSetup],
    settings: ExecutionSettings,
    yes: bool,
) -> str | None:
    """Close and report; return the closing error sentence, if any (raised after the state is saved)."""
    from decimal import Decimal

    from tradeexecutor.cli.prompt import confirm_or_stop
    from tradeexecutor.ethereum.gas import human
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.execution.live.state_access import open_state
    from tradeexecutor.state.time import utcnow
    from tradeexecutor.toolbox.close import (
        check_closable,
        frozen_explanation,
        outcome_line,
        plan_closes,
        position_to_close,
        quote_close,
        slippage_keeping_minimum,
    )

    command = "close-all" if position_id is None else "close-position"
    with open_state(path, create=False) as (state, checkpoint):
        # Everything that needs no network is refused before connecting.
        frozen = list(state.portfolio.frozen_positions.values()) if position_id is None else []
        if position_id is not None:
            position_to_close(state, position_id)
        elif not state.portfolio.open_positions:
            for position in frozen:
                typer.echo(frozen_explanation(position))
            typer.echo(f"No open position to close in {path}.")
            return f"{len(frozen)} frozen position(s) were not closed: repair them first." if frozen else None

        setup = connect()
        wallet = HotWallet.from_env()
        models = build_live_models(
            setup.web3,
            wallet,
            setup.deployments,
            setup.reserve,
            settings,
            known_pairs=setup.pairs,
            checkpoint=checkpoint,
        )
        models.sync.sync(utcnow(), state)  # resolves what a crash left unfinished first
        checkpoint()
        if position_id is not None:
            positions = [position_to_close(state, position_id)]
        else:
            positions = [state.portfolio.open_positions[i] for i in sorted(state.portfolio.open_positions)]
            frozen = list(state.portfolio.frozen_positions.values())
        for position in positions:
            check_closable(position)

        now = utcnow()
        reserve = setup.reserve.symbol
        quotes = [
            q
            for p in positions
            if (q := quote_close(p, models.pricing, now, settings.max_slippage_bps, reserve))
        ]
        for position in frozen:
            typer.echo(frozen_explanation(position))
        if not quotes:
            typer.echo("Nothing to sell: the positions hold no tokens.")
        else:
            typer.echo(
                f"About to sell through the live execution model, at most {settings.max_slippage_bps / 100:g} % "
                "below these quotes; the swap reverts rather than return less than the minimum shown:"
            )
            for quote in quotes:
                typer.echo(quote.line())
            total = sum((q.expected_reserve for q in quotes), Decimal(0))
            typer.echo(f"Total: about {total:.6f} {reserve} back to the reserve.")
            confirm_or_stop(f"Sell {len(quotes)} position(s)?", yes, "Nothing was sold")

            # The prompt may have waited: re-quote, and sell only within the minimums shown.
            now = utcnow()
            slip = settings.max_slippage_bps
            plans, moved = [], []
            for shown in quotes:
                fresh = quote_close(shown.position, models.pricing, now, slip, reserve)
                bps = slippage_keeping_minimum(shown, fresh, slip) if fresh is not None else None
                if bps is None:
                    moved.append(
                        f"{shown.position.pair.ticker} (at least {shown.minimum_reserve:.6f} {reserve})"
                    )
                else:
                    plans.append((shown.position, bps))
            if moved:
                return (
                    f"The price fell below the minimum shown for {', '.join(moved)} while waiting for the "
                    "confirmation; nothing was sold: run the command again to see new quotes."
                )
            note = f"Closed by an operator with `trade-executor {command}`."
            trades = plan_closes(state, plans, models.pricing, now, note)
            models.execution.execute_trades(now, state, trades, checkpoint)
            for trade in trades:
                typer.echo(outcome_line(trade))
            models.sync.sync(utcnow(), state)
            checkpoint()
            typer.echo(f"Reserve now {human(state.portfolio.cash())} {reserve} in {path}.")
            not_done = [t for t in trades if not t.is_success]
            if not_done:
                return f"{len(not_done)} of {len(trades)} sell(s) did not succeed (see above); the state is saved."
        if frozen:
            return f"{len(frozen)} frozen position(s) were not closed: repair them first (see above)."
    return None
