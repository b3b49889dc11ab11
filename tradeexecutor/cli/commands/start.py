"""`trade-executor start`: run a strategy live (hot wallet or paper) or as a backtest.

`--execution-type backtest` runs exactly what `trade-executor backtest` runs;
`uniswap_v2_hot_wallet` trades from the hot wallet; `dummy` prices from the chain and
books paper fills without sending anything. The live wiring is in `cli/live_start.py`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from tradeexecutor.cli.options import (
    AppCookieSecret,
    ApprovalModeOption,
    Audit,
    AuditTick,
    AuditTolerance,
    AuditTypes,
    BacktestCandleTimeFrameOverride,
    BacktestEnd,
    BacktestPoolLiquidity,
    BacktestSlippageBps,
    BacktestStart,
    BacktestStopLossTimeFrameOverride,
    CachePath,
    CandleData,
    CandleStartBlock,
    ConfirmationBlockCount,
    ConfirmationTimeout,
    ContinueSimulation,
    CycleDurationOverride,
    CycleOffsetMinutes,
    DashboardConfigFile,
    DashboardCookieSecure,
    DashboardDbUrl,
    DashboardEnabled,
    DashboardLogin,
    DiscordErrorWebhookUrl,
    DiscordWebhookUrl,
    ExchangeSlug,
    ExecutionType,
    ExplorerUrl,
    FileLogLevel,
    GasPriceMethodOption,
    Heartbeat,
    HttpCorsOrigins,
    HttpEnabled,
    HttpHost,
    HttpPassword,
    HttpPort,
    HttpTrustedProxy,
    HttpUsername,
    IconUrl,
    Id,
    InitialCash,
    LogFileDir,
    LogFormat,
    LogLevel,
    LogstashServer,
    LongDescription,
    MaxCycles,
    MaxDataDelayMinutes,
    MaxSlippage,
    MinGasBalance,
    OptionalDeploymentFile,
    Param,
    Report,
    RunSingleCycle,
    SentryDsn,
    ShortDescription,
    Simulate,
    SimulateReserve,
    StateFile,
    StatsdHost,
    StatsdPort,
    StatsdPrefix,
    StopChecksAfterHalt,
    StopLossCheckFrequency,
    StrategyFile,
    StrategyName,
    SyntheticData,
    SyntheticSeed,
    TokenAddresses,
    TradeImmediately,
    WatchdogTimeout,
)
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import ApprovalMode, GasPriceMethod

# start never requires a data delay limit: the check is on only when it is given
OptionalMaxDataDelayMinutes = Annotated[int | None, MaxDataDelayMinutes.__metadata__[0]]


def start(
    execution_type: ExecutionType = None,
    strategy_file: StrategyFile = None,
    param: Param = None,
    state_file: StateFile = None,
    id: Id = None,
    cache_path: CachePath = Path("cache"),
    name: StrategyName = None,
    short_description: ShortDescription = None,
    long_description: LongDescription = None,
    icon_url: IconUrl = None,
    # live: exchange and execution
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
    approval_mode: ApprovalModeOption = ApprovalMode.exact,
    confirmation_block_count: ConfirmationBlockCount = 1,
    confirmation_timeout: ConfirmationTimeout = 300.0,
    min_gas_balance: MinGasBalance = None,
    # live: scheduling
    cycle_duration: CycleDurationOverride = None,
    cycle_offset_minutes: CycleOffsetMinutes = 0.0,
    max_data_delay_minutes: OptionalMaxDataDelayMinutes = None,
    stop_loss_check_frequency: StopLossCheckFrequency = "1m",
    trade_immediately: TradeImmediately = False,
    max_cycles: MaxCycles = None,
    run_single_cycle: RunSingleCycle = False,
    watchdog_timeout: WatchdogTimeout = None,
    stop_checks_after_halt: StopChecksAfterHalt = True,
    simulate: Simulate = False,
    simulate_reserve: SimulateReserve = None,
    continue_simulation: ContinueSimulation = False,
    # live: account audits
    audit: Audit = False,
    audit_tick: AuditTick = 1,
    audit_types: AuditTypes = None,
    audit_tolerance: AuditTolerance = None,
    # live: webhook, logging and reporting
    http_enabled: HttpEnabled = True,
    http_host: HttpHost = "127.0.0.1",
    http_port: HttpPort = 3456,
    http_username: HttpUsername = None,
    http_password: HttpPassword = None,
    http_cors_origins: HttpCorsOrigins = None,
    http_trusted_proxy: HttpTrustedProxy = None,
    log_level: LogLevel = "info",
    log_format: LogFormat = "text",
    file_log_level: FileLogLevel = "info",
    log_file_dir: LogFileDir = Path("logs"),
    discord_webhook_url: DiscordWebhookUrl = None,
    discord_error_webhook_url: DiscordErrorWebhookUrl = None,
    logstash_server: LogstashServer = None,
    statsd_host: StatsdHost = None,
    statsd_port: StatsdPort = 8125,
    statsd_prefix: StatsdPrefix = "trade_executor",
    heartbeat: Heartbeat = None,
    sentry_dsn: SentryDsn = None,
    explorer_url: ExplorerUrl = None,
    dashboard_enabled: DashboardEnabled = True,
    dashboard_login: DashboardLogin = False,
    dashboard_db_url: DashboardDbUrl = None,
    app_cookie_secret: AppCookieSecret = None,
    dashboard_cookie_secure: DashboardCookieSecure = "auto",
    dashboard_config: DashboardConfigFile = None,
    # backtest (and paper trading's starting cash)
    backtest_start: BacktestStart = None,
    backtest_end: BacktestEnd = None,
    candle_data: CandleData = None,
    synthetic_data: SyntheticData = False,
    synthetic_seed: SyntheticSeed = 0,
    backtest_candle_time_frame_override: BacktestCandleTimeFrameOverride = None,
    backtest_stop_loss_time_frame_override: BacktestStopLossTimeFrameOverride = None,
    initial_cash: InitialCash = "10000",
    backtest_slippage_bps: BacktestSlippageBps = "0",
    backtest_pool_liquidity: BacktestPoolLiquidity = None,
    report: Report = None,
) -> None:
    """Run a strategy: live from the hot wallet (uniswap_v2_hot_wallet), paper (dummy) or as a backtest."""
    raw = dict(locals())
    kind = (execution_type or "").strip().lower()
    if not kind:
        raise UserError(
            "No --execution-type given; use uniswap_v2_hot_wallet (live), dummy (paper trading) or backtest."
        )
    if kind == "backtest":
        from tradeexecutor.cli.backtest_cli import BACKTEST_OPTION_NAMES, backtest_cli, build_options

        backtest_cli(build_options(**{name: raw[name] for name in BACKTEST_OPTION_NAMES}))
        return

    from tradeexecutor.cli.amounts import parse_positive_decimal
    from tradeexecutor.cli.durations import parse_interval
    from tradeexecutor.cli.live_start import LiveOptions, run_live
    from tradeexecutor.cli.monitoring import MonitoringOptions
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.strategy.cycle import CycleDuration

    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    if not strategy_file.exists():
        raise UserError(f"The strategy file {strategy_file} does not exist; check --strategy-file.")
    executor_id = id or strategy_file.stem
    cycle = None
    if cycle_duration:
        try:
            cycle = CycleDuration.parse(cycle_duration)
        except ValueError as e:
            raise UserError(f"--cycle-duration: {e}") from None
    from dataclasses import replace
    from datetime import timedelta

    from tradeexecutor.cli.simulation import simulate_if_asked
    from tradeexecutor.execution.live.state_access import state_path

    real_state = state_path(state_file, strategy_file, executor_id)
    options = LiveOptions(
        execution_type=kind,
        strategy_file=strategy_file,
        state_file=real_state,
        executor_id=executor_id,
        parameters=tuple(param or ()),
        cache_path=cache_path,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
        execution=ExecutionSettings(
            gas_price_method=gas_price_method,
            max_slippage_bps=max_slippage,
            approval_mode=approval_mode,
            confirmation_block_count=confirmation_block_count,
            confirmation_timeout=confirmation_timeout,
            min_gas_balance=min_gas_balance,
        ),
        cycle_duration=cycle,
        cycle_offset_minutes=cycle_offset_minutes,
        max_data_delay=timedelta(minutes=max_data_delay_minutes) if max_data_delay_minutes else None,
        stop_loss_check_frequency=parse_interval(stop_loss_check_frequency, "--stop-loss-check-frequency"),
        trade_immediately=trade_immediately,
        max_cycles=max_cycles,
        run_single_cycle=run_single_cycle,
        watchdog_timeout=parse_interval(watchdog_timeout, "--watchdog-timeout"),
        stop_checks_after_halt=stop_checks_after_halt,
        name=name,
        short_description=short_description,
        long_description=long_description,
        icon_url=icon_url,
        initial_cash=parse_positive_decimal(initial_cash, "--initial-cash")
        if initial_cash
        else Decimal(10_000),
        audit=audit,
        audit_tick=audit_tick,
        audit_types=audit_types,
        audit_tolerance=audit_tolerance,
        monitoring=MonitoringOptions(
            log_level=log_level,
            log_format=log_format,
            file_log_level=None if file_log_level.lower() == "none" else file_log_level,
            log_file_dir=log_file_dir,
            http_enabled=http_enabled,
            http_host=http_host,
            http_port=http_port,
            http_username=http_username,
            http_password=http_password,
            http_cors_origins=http_cors_origins,
            http_trusted_proxy=http_trusted_proxy,
            discord_webhook_url=discord_webhook_url,
            discord_error_webhook_url=discord_error_webhook_url,
            logstash_server=logstash_server,
            statsd_host=statsd_host,
            statsd_port=statsd_port,
            statsd_prefix=statsd_prefix,
            heartbeat=heartbeat,
            sentry_dsn=sentry_dsn,
            explorer_url=explorer_url,
            dashboard_enabled=dashboard_enabled,
            dashboard_login=dashboard_login,
            dashboard_db_url=dashboard_db_url,
            app_cookie_secret=app_cookie_secret,
            dashboard_cookie_secure=dashboard_cookie_secure,
            dashboard_config=dashboard_config,
        ),
    )
    with simulate_if_asked(
        simulate, simulate_reserve, strategy_file, real_state, continue_simulation
    ) as scope:
        if scope.simulating:
            # a rehearsal must not page anyone or pollute production metrics
            options = replace(
                options,
                state_file=scope.state_path,
                on_connected=scope.connected,
                name=f"SIMULATION: {options.name or executor_id}",
                monitoring=replace(
                    options.monitoring,
                    discord_webhook_url=None,
                    discord_error_webhook_url=None,
                    statsd_host=None,
                    logstash_server=None,
                    sentry_dsn=None,
                ),
            )
        code = run_live(options)
    if code:
        raise typer.Exit(code)
