"""Every failure is classified by its cause: transient infrastructure, strategy error, invariant violation."""

from __future__ import annotations

import datetime
import errno
from pathlib import Path

import pytest

from tradeexecutor.ethereum.connection import ChainIdMismatch, RPCUnavailable
from tradeexecutor.execution.failures import FaultKind, classify, retry_transient
from tradeexecutor.execution.live.execution_model import LowGasBalance
from tradeexecutor.execution.live.sync import NodeLagging
from tradeexecutor.execution.live_loop import StaleMarketData
from tradeexecutor.state.errors import IntegrityError, StateFileCorrupt, StateSaveRefused, StateStoreError
from tradeexecutor.strategy.user_code import StrategyRuntimeError


def raised_through_strategy(original: BaseException, tmp_path: Path) -> StrategyRuntimeError:
    """What `call_user_function` makes of an exception raised inside a strategy function."""
    strategy = tmp_path / "my_strategy.py"
    strategy.write_text("def create_trading_universe(input):\n    return input()\n")
    namespace: dict = {}
    exec(compile(strategy.read_text(), str(strategy), "exec"), namespace)

    def fail() -> None:
        raise original

    try:
        namespace["create_trading_universe"](fail)
    except Exception as e:
        return StrategyRuntimeError("create_trading_universe", strategy, e)
    raise AssertionError("did not raise")


@pytest.mark.parametrize(
    "exc",
    [
        RPCUnavailable("No JSON-RPC node answered (http://127.0.0.1:8545 connection failed)"),
        ConnectionResetError("reset by peer"),
        TimeoutError("read timed out"),
        StaleMarketData("Market data is stale"),
        NodeLagging("The node is at block 10, 5 block(s) behind"),
        StateStoreError(
            "Cannot write the state file x.json (No space left on device); the previous version is intact."
        ),
        OSError(errno.ENOSPC, "No space left on device"),
        LowGasBalance("Hot wallet 0x1 has 0.001 ETH for gas, below the minimum"),
    ],
)
def test_transient_infrastructure(exc: BaseException) -> None:
    assert classify(exc).kind == FaultKind.transient


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("position 3 holds a negative quantity"),
        StateSaveRefused("Refusing to save the state file x.json: ...; nothing was written."),
        StateFileCorrupt("The state file x.json is corrupt"),
        ChainIdMismatch("The node in JSON_RPC_ANVIL is now on chain 1337, not 31337"),
    ],
)
def test_invariant_violations(exc: BaseException) -> None:
    assert classify(exc).kind == FaultKind.invariant


def test_an_rpc_outage_inside_create_trading_universe_is_not_blamed_on_the_strategy(tmp_path) -> None:
    outage = RPCUnavailable(
        "No JSON-RPC node answered (http://127.0.0.1:8545 connection failed): check the node"
    )
    fault = classify(raised_through_strategy(outage, tmp_path))
    assert fault.kind == FaultKind.transient
    assert fault.reason.startswith("No JSON-RPC node answered") and "my_strategy.py" not in fault.reason


def test_a_strategy_bug_is_a_strategy_error_with_its_one_line_summary(tmp_path) -> None:
    fault = classify(raised_through_strategy(ZeroDivisionError("division by zero"), tmp_path))
    assert fault.kind == FaultKind.strategy and fault.halts_trading and not fault.halts_protection
    assert (
        fault.reason.startswith("create_trading_universe() in ")
        and "my_strategy.py:2 raised ZeroDivisionError" in fault.reason
    )
    assert "\n" not in fault.reason


def test_a_strategy_error_caused_by_an_outage_is_transient(tmp_path) -> None:
    try:
        try:
            raise RPCUnavailable("No JSON-RPC node answered")
        except RPCUnavailable:
            raise ValueError("no price for WETH-USDC")  # noqa: B904  (the strategy's own re-raise)
    except ValueError as e:
        assert classify(e).kind == FaultKind.transient


def test_transient_rpc_error_answers_are_recognised_by_their_message() -> None:
    class Web3RPCError(Exception):
        pass

    assert (
        classify(Web3RPCError("{'code': -32000, 'message': 'header not found'}")).kind == FaultKind.transient
    )
    assert classify(Web3RPCError("execution reverted: UniswapV2: K")).kind == FaultKind.strategy


def test_retry_transient_waits_out_an_outage_and_reports_one_episode() -> None:
    events: list = []

    class Listener:
        def degraded(self, component, reason, *, since, failures, next_attempt_at=None, exc=None) -> None:
            events.append(("degraded", failures))

        def recovered(self, *, since, failures) -> None:
            events.append(("recovered", failures))

    attempts = iter([RPCUnavailable("down"), RPCUnavailable("down"), None])
    sleeps: list[float] = []

    def step() -> str:
        exc = next(attempts)
        if exc is not None:
            raise exc
        return "connected"

    clock = lambda: datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)  # noqa: E731
    assert retry_transient("start-up", step, Listener(), sleep=sleeps.append, clock=clock) == "connected"
    assert sleeps == [5.0, 10.0]
    assert events == [("degraded", 1), ("degraded", 2), ("recovered", 2)]
    with pytest.raises(ValueError):
        retry_transient(
            "start-up", lambda: (_ for _ in ()).throw(ValueError("bad")), Listener(), sleep=sleeps.append
        )
