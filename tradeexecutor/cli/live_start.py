"""The live executor as `start` runs it: lock the state, serve the webhook, connect, loop.

Order matters for operators: the state file lock is taken first (a second executor on
the same state stops at once, naming the first one's PID), the webhook comes up next (so
`/status` answers before anything slow or fallible happens), then the node, the wallet
and recovery of any transaction a previous run left unconfirmed, then the loop.

Imported only inside the `start` command. web3 and pandas are imported after the webhook is up
(in `_run_with_monitoring`), so `/ping` answers within a few tenths of a second of `start`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from tradeexecutor.cli.monitoring import Monitoring, MonitoringOptions, start_monitoring
from tradeexecutor.cli.signals import Terminated, install_sigterm_handler
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ExecutionSettings
from tradeexecutor.execution.failures import retry_transient
from tradeexecutor.execution.live.state_access import require_disk_space
from tradeexecutor.execution.live_loop import CycleHook, LiveLoop, LoopOutcome, LoopSettings, publish_schedule
from tradeexecutor.execution.models import NoSync
from tradeexecutor.execution.persistence import StorePersistence
from tradeexecutor.execution.run_state import StrategyMetadata
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.module import ExecutionMode, StrategyInput, StrategyModule
from tradeexecutor.strategy.position_manager import PositionManager

if TYPE_CHECKING:  # web3 and pandas: imported once the webhook answers
    from tradeexecutor.execution.live.connect import LiveSetup
    from tradeexecutor.strategy.universe import TradingUniverse

logger = logging.getLogger(__name__)

HOT_WALLET = "uniswap_v2_hot_wallet"
PAPER = "dummy"
LIVE_EXECUTION_TYPES = (HOT_WALLET, PAPER)
MIN_WATCHDOG = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class LiveOptions:
    execution_type: str
    strategy_file: Path
    state_file: Path
    executor_id: str
    cache_path: Path
    parameters: tuple[str, ...] = ()  # --param NAME=VALUE overrides of the strategy's PARAMETERS
    deployment_file: Path | None = None
    exchange_slug: str | None = None
    token_addresses: str | None = None
    candle_start_block: int | None = None
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    cycle_duration: CycleDuration | None = None
    cycle_offset_minutes: float = 0.0
    max_data_delay: datetime.timedelta | None = None
    stop_loss_check_frequency: datetime.timedelta | None = None
    trade_immediately: bool = False
    max_cycles: int | None = None
    run_single_cycle: bool = False
    watchdog_timeout: datetime.timedelta | None = None
    stop_checks_after_halt: bool = True
    name: str | None = None
    short_description: str | None = None
    long_description: str | None = None
    icon_url: str | None = None
    initial_cash: Decimal = Decimal(10_000)
    audit: bool = False
    audit_tick: int = 1
    audit_types: str | None = None
    audit_tolerance: str | None = None
    on_connected: Callable[[LiveSetup], None] | None = None  # --simulate: fund the fork, say so
    monitoring: MonitoringOptions = field(default_factory=MonitoringOptions)


class LiveUniverse:
    """Rebuilds the strategy's universe from freshly scanned on-chain candles each cycle."""

    def __init__(self, setup: LiveSetup, cache_dir: Path) -> None:
        self.module = setup.module
        self.data = setup.market_data(cache_dir)
        self.universe: TradingUniverse | None = None

    def refresh(self, now: datetime.datetime) -> datetime.datetime | None:
        universe_input = self.module.universe_input(
            timestamp=now, execution_mode=ExecutionMode.live, data=self.data
        )
        self.universe = self.module.create_trading_universe(universe_input)
        newest: datetime.datetime | None = None
        bucket = self.universe.time_bucket.timedelta
        for pair in self.universe.pairs:
            frame = self.universe.series(pair).frame
            if len(frame):
                # the candle in progress counts as closing now: its pool traded recently
                closed = min(frame.index[-1].to_pydatetime() + bucket, now)
                newest = closed if newest is None else max(newest, closed)
        return newest

    def price_series(self) -> dict[str, list[tuple]]:
        from tradeexecutor.execution.publish import price_series

        if self.universe is None:
            return {}
        frames = {pair.ticker: self.universe.series(pair).frame for pair in self.universe.pairs}
        return price_series(frames, self.universe.time_bucket)


def _metadata(options: LiveOptions, module: StrategyModule) -> StrategyMetadata:
    display = module.display
    return StrategyMetadata(
        id=options.executor_id,
        name=options.name or display.get("NAME") or options.executor_id,
        short_description=options.short_description or display.get("SHORT_DESCRIPTION"),
        long_description=options.long_description or display.get("LONG_DESCRIPTION"),
        icon_url=options.icon_url or display.get("ICON_URL"),
    )


def _open_state(store: JSONFileStore, options: LiveOptions, reserve_asset) -> State:  # noqa: ANN001
    if store.exists():
        state = store.load()
        logger.info(
            "Loaded the state from %s (%d cycles done).", options.state_file, state.cycle.completed_count
        )
        return state
    state = State(strategy_id=options.executor_id)
    if options.execution_type == PAPER:
        state.record_deposit(
            reserve_asset,
            reserve_asset.to_raw(options.initial_cash),
            utcnow(),
            reason="paper trading initial cash",
        )
    store.create(state)
    logger.info("Created a new state file %s.", options.state_file)
    return state


def _decide_function(module: StrategyModule, universe: LiveUniverse, state: State, cycle: CycleDuration):  # noqa: ANN202
    def decide(ts: datetime.datetime, pm: PositionManager) -> list[TradeExecution]:
        assert universe.universe is not None, "the market is refreshed before each cycle"
        view = universe.universe.view(ts)
        return module.decide_trades(
            StrategyInput(
                timestamp=view.timestamp,
                cycle=state.cycle.completed_count + 1,
                universe=view,
                state=state,
                pricing_model=pm.pricing_model,
                position_manager=pm,
                parameters=module.parameters,
                execution_mode=ExecutionMode.live,
                cycle_duration=cycle,
                indicators=module.cycle_indicators(view, ExecutionMode.live),
            )
        )

    return decide


def _build_runner(
    options: LiveOptions,
    setup: LiveSetup,
    state: State,
    persistence: StorePersistence,
    universe: LiveUniverse,
    monitoring: Monitoring,
) -> tuple[CycleRunner, CycleHook | None]:
    cycle = options.cycle_duration or setup.module.cycle_duration
    decide = _decide_function(setup.module, universe, state, cycle)
    if options.execution_type == PAPER:
        from tradeexecutor.execution.live.paper import PaperExecution
        from tradeexecutor.execution.live.pricing import UniswapV2LivePricing
        from tradeexecutor.execution.live.routes import LiveRouting
        from tradeexecutor.execution.live.valuation import UniswapV2Valuation

        routing = LiveRouting(
            setup.web3,
            setup.deployments,
            setup.reserve,
            known_pairs=setup.pairs,
            max_slippage_bps=options.execution.max_slippage_bps,
        )
        pricing = UniswapV2LivePricing(routing)
        if options.audit:
            raise UserError("--audit checks a hot wallet against the chain; paper trading (dummy) has none.")
        return CycleRunner(
            state=state,
            pricing_model=pricing,
            execution_model=PaperExecution(pricing),
            sync_model=NoSync(),
            valuation_model=UniswapV2Valuation(routing),
            decide=decide,
            checkpoint=persistence.save,
            slippage_bps=options.execution.max_slippage_bps,
        ), None

    from tradeexecutor.audit.hook import create_audit_hook
    from tradeexecutor.ethereum.preflight import require_ready_to_trade
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.stack import build_live_models

    wallet = HotWallet.from_env()
    models = build_live_models(
        setup.web3,
        wallet,
        setup.deployments,
        setup.reserve,
        options.execution,
        known_pairs=setup.pairs,
        checkpoint=persistence.save,
    )
    report = models.recovery.recover(state, checkpoint=persistence.save)
    if report.unresolved:
        logger.warning(
            "Unresolved transactions after recovery: %s; see `trade-executor repair`.", report.unresolved
        )
    logger.info("Hot wallet %s; %s", wallet.address, ", ".join(f"{k}: {v}" for k, v in models.names()))
    require_ready_to_trade(
        setup.web3,
        wallet.address,
        setup.module.chain_id,
        setup.reserve.address,
        setup.deployments,
        options.execution.gas_price_method,
        options.execution.min_gas_balance,
        holds_positions=bool(state.portfolio.open_positions or state.portfolio.frozen_positions),
    )
    audit = create_audit_hook(
        enabled=options.audit,
        tick=options.audit_tick,
        types=options.audit_types,
        tolerance=options.audit_tolerance,
        web3=setup.web3,
        wallet_address=wallet.address,
        routing=models.routing,
        strategy_settings=setup.module.extra,
        pairs=setup.pairs,
        checkpoint=persistence.save,
        sync=models.sync,
        run_state=monitoring.run_state,
        reporter=monitoring.reporter,
    )
    runner = CycleRunner(
        state=state,
        pricing_model=models.pricing,
        execution_model=models.execution,
        sync_model=models.sync,
        valuation_model=models.valuation,
        decide=decide,
        checkpoint=persistence.save,
        slippage_bps=options.execution.max_slippage_bps,
    )
    return runner, audit


def _loop_settings(options: LiveOptions, module: StrategyModule) -> LoopSettings:
    cycle = options.cycle_duration or module.cycle_duration
    try:
        cycle.check_offset(options.cycle_offset_minutes)
    except ValueError as e:
        raise UserError(f"{e} Fix --cycle-offset-minutes.") from None
    watchdog = options.watchdog_timeout or max(cycle.timedelta, MIN_WATCHDOG)
    single = options.run_single_cycle
    return LoopSettings(
        cycle_duration=cycle,
        cycle_offset_minutes=options.cycle_offset_minutes,
        max_data_delay=options.max_data_delay,
        stop_loss_check_frequency=options.stop_loss_check_frequency,
        trade_immediately=options.trade_immediately or single,
        max_cycles=1 if single else options.max_cycles,
        stay_up_after_halt=not single,
        single_cycle=single,
        watchdog_timeout=watchdog,
        stops_after_halt=options.stop_checks_after_halt,
    )


def run_live(options: LiveOptions) -> int:
    """Run until stopped; the exit code a supervisor should see."""
    if options.execution_type not in LIVE_EXECUTION_TYPES:
        raise UserError(
            f"Unknown --execution-type {options.execution_type!r}; use one of "
            f"{', '.join((*LIVE_EXECUTION_TYPES, 'backtest'))}."
        )
    from tradeexecutor.strategy.loader import load_strategy_module

    module = load_strategy_module(options.strategy_file, options.parameters)
    settings = _loop_settings(options, module)
    require_disk_space(options.state_file)
    # /ping answers before web3 is even imported: a supervisor may stop us during the seconds of
    # start-up left, and that stop unwinds (webhook, lock) like one in the loop, which takes over
    install_sigterm_handler()
    try:
        with JSONFileStore(options.state_file) as store:
            source = options.strategy_file.read_text(encoding="utf-8", errors="replace")
            monitoring = start_monitoring(
                options.monitoring,
                _metadata(options, module),
                chain_id=module.chain_id,
                source=source,
                dashboard_settings=module.extra.get("DASHBOARD"),
            )
            try:
                return _run_with_monitoring(options, settings, store, monitoring)
            finally:
                monitoring.close()
    except Terminated:
        logger.info("Executor %s: stopped by a signal during start-up.", options.executor_id)
        return 0


def _run_with_monitoring(
    options: LiveOptions, settings: LoopSettings, store: JSONFileStore, monitoring: Monitoring
) -> int:
    from tradeexecutor.execution.live.connect import connect_live

    reporter = monitoring.reporter

    def connect_and_recover() -> tuple[State, StorePersistence, LiveUniverse, CycleRunner, CycleHook | None]:
        setup = connect_live(
            options.strategy_file,
            parameters=options.parameters,
            deployment_file=options.deployment_file,
            exchange_slug=options.exchange_slug,
            token_addresses=options.token_addresses,
            candle_start_block=options.candle_start_block,
        )
        if options.on_connected is not None:
            options.on_connected(setup)
        state = _open_state(store, options, setup.reserve)
        persistence = StorePersistence(store, state)
        universe = LiveUniverse(setup, options.cache_path / "onchain-candles")
        runner, audit = _build_runner(options, setup, state, persistence, universe, monitoring)
        return state, persistence, universe, runner, audit

    publish_schedule(monitoring.run_state, settings)  # /health counts from start, also while waiting
    try:
        # a node that is down at start-up: wait for it (degraded), do not exit
        state, persistence, universe, runner, audit = retry_transient(
            "start-up", connect_and_recover, reporter
        )
    except Exception as exc:
        reporter.cycle_failed(exc, halt=True)
        raise
    if store.last_saved is not None:
        monitoring.run_state.update_state_bytes(store.last_saved.data)
    from tradeexecutor.execution import publish

    monitoring.run_state.publish(
        positions=publish.positions_documents(state),
        trades=publish.trades_documents(state),
        summary=publish.portfolio_summary(state),
    )
    reporter.startup()
    loop = LiveLoop(
        settings, runner, universe, persistence, monitoring.run_state, reporter, after_cycle=audit
    )
    outcome = loop.run()
    reason = {
        LoopOutcome.finished: f"finished after {loop.cycles_run} cycle(s)",
        LoopOutcome.stopped: "stopped by a signal",
        LoopOutcome.halted: "trading halted after a failure",
    }[outcome]
    try:
        persistence.save()
    except Exception as exc:  # e.g. the disk is full: the previous save is intact and complete
        logger.error("The final save failed (%s); the state file keeps the last successful save.", exc)
    reporter.stopped(reason)
    logger.info("Executor %s: %s.", options.executor_id, reason)
    if outcome == LoopOutcome.halted and options.run_single_cycle:
        return 1
    return 0
