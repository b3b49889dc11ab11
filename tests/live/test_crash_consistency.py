"""SIGKILL an executor process at every step of a trade; a restart must end where an uninterrupted run ends.

Each test runs `crash_worker.py` (two cycles, four trades, exact approvals) on the devchain,
kills it at one step, restarts it, and compares the final state with a reference run of
the same worker on the same chain snapshot: the same fills per pair, the same reserve, the
same ledger sums, as many transactions as the reference with no nonce gap, no trade
pending, no unexplained deposit or withdrawal, and books equal to the chain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live.state_file import load_state
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.state.transaction import TxStatus

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
pytestmark = pytest.mark.slow


def run_worker(
    devchain, workdir: Path, crash_at: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(WORKER)],
        env=worker_env(devchain, workdir, crash_at),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def worker_env(devchain, workdir: Path, crash_at: str | None) -> dict[str, str]:
    deployment = workdir / "deployment.json"
    if not deployment.exists():
        devchain.deployment.write(deployment)
    env = {k: v for k, v in os.environ.items() if k != "TRADE_EXECUTOR_CRASH_AT"}
    env.update(
        JSON_RPC_ANVIL=devchain.rpc_url,
        PRIVATE_KEY=devchain.hot_wallet.key.to_0x_hex(),
        DEPLOYMENT_FILE=str(deployment),
        STATE_FILE=str(workdir / "state.json"),
        PYTHONPATH=str(ROOT),
    )
    if crash_at:
        env["TRADE_EXECUTOR_CRASH_AT"] = crash_at
    return env


def summary(state: State, devchain) -> dict:
    """What must be the same as in an uninterrupted run."""
    fills: dict[str, list[tuple[int, int]]] = {}
    for trade in sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id):
        if trade.status == TradeStatus.success:
            fills.setdefault(trade.pair.ticker, []).append(
                (trade.executed_quantity_raw, trade.executed_reserve_raw)
            )
    gas_key = state.portfolio.gas_holding().asset.key
    mined = [
        tx
        for t in state.portfolio.all_trades()
        for tx in t.blockchain_transactions
        if tx.status != TxStatus.dropped
    ]
    return {
        "fills": fills,
        "reserve": state.portfolio.reserve_holding().quantity_raw,
        # gas: the units must match exactly (execution_gas below); the fee per unit follows anvil's base
        # fee, which an evm_revert does not roll back, and is checked against the chain instead
        "ledger": {k: v for k, v in state.ledger.balances().items() if k != gas_key and v},
        "open": sorted(p.pair.ticker for p in state.portfolio.open_positions.values()),
        "transactions": len(mined),
        "chain_nonce": devchain.web3.eth.get_transaction_count(devchain.hot_wallet.address),
        "execution_gas": sum(tx.gas_used - calldata_gas(devchain, tx.tx_hash) for tx in mined),
    }


def calldata_gas(devchain, tx_hash: str) -> int:
    """The part of a transaction's gas paid for its input bytes (4 per zero byte, 16 per other).

    Swap deadlines follow the clock, so the same swap signed a little later has other bytes
    and costs a few gas more or less; the gas spent executing it must be identical.
    """
    data = bytes(devchain.web3.eth.get_transaction(tx_hash)["input"])
    return sum(4 if b == 0 else 16 for b in data)


def check_consistent(state: State, devchain) -> None:
    """Nothing pending, no nonce gap, nothing unexplained, books equal to the chain."""
    assert state.portfolio.pending_trades() == []
    nonces = sorted(
        tx.nonce
        for t in state.portfolio.all_trades()
        for tx in t.blockchain_transactions
        if tx.status != TxStatus.dropped
    )
    assert nonces == list(range(len(nonces))), "every nonce used once, none skipped"
    assert all(tx.is_final for t in state.portfolio.all_trades() for tx in t.blockchain_transactions)
    for trade in state.portfolio.all_trades():
        if trade.status == TradeStatus.failed:  # only trades the crash stopped before their swap was sent
            assert "execution was interrupted before this trade" in trade.failure_reason
            assert not any(tx.function == "swapExactTokensForTokens" for tx in trade.blockchain_transactions)
    unexplained = [e for e in state.ledger.entries if e.kind in (LedgerKind.deposit, LedgerKind.withdrawal)][
        2:
    ]  # the first sync's two deposits are expected
    assert unexplained == [], [e.reason for e in unexplained]
    web3, wallet = devchain.web3, devchain.hot_wallet.address
    assert state.portfolio.reserve_holding().quantity_raw == balance_of(
        web3, state.portfolio.reserve_holding().asset, wallet
    )
    assert state.portfolio.gas_holding().quantity_raw == web3.eth.get_balance(wallet)
    held = state.portfolio.held_balances_raw()  # positions summed per token (two pairs hold DEV)
    for position in state.portfolio.open_positions.values():
        assert held[position.pair.base.key] == balance_of(web3, position.pair.base, wallet)


@pytest.fixture(scope="module")
def steady_clock(devchain_session):
    """Each block 1 s after the previous one, whatever the wall clock does.

    A Uniswap v2 pair writes its price accumulators only in the first swap of a new second,
    so a restart that takes a few seconds would otherwise change the gas a swap uses.
    """
    web3 = devchain_session.web3
    web3.provider.make_request("anvil_setBlockTimestampInterval", [1])
    yield
    web3.provider.make_request("anvil_removeBlockTimestampInterval", [])


@pytest.fixture(scope="module")
def reference(devchain_session, steady_clock, tmp_path_factory) -> dict:
    """An uninterrupted run on the same chain snapshot every crash test starts from."""
    web3 = devchain_session.web3
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
    workdir = tmp_path_factory.mktemp("reference")
    try:
        done = run_worker(devchain_session, workdir)
        assert done.returncode == 0, done.stderr[-3000:]
        state = load_state(workdir / "state.json")
        check_consistent(state, devchain_session)
        return summary(state, devchain_session)
    finally:
        assert web3.provider.make_request("evm_revert", [snapshot])["result"]


CRASH_POINTS = [
    "approve.signed",
    "approve.recorded",
    "approve.broadcast",
    "approve.confirmed",
    "swap.signed",
    "swap.recorded",
    "swap.broadcast",
    "swap.confirmed",
    "swap.settled",
    "swap.recorded#2",  # the two-hop buy, with the first trade already settled
    "swap.broadcast#3",  # the sell of cycle 2
]


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_sigkill_at_each_step_then_restart_ends_like_an_uninterrupted_run(
    devchain, tmp_path, reference, crash_at
) -> None:
    unique_clock(devchain, crash_at)
    crashed = run_worker(devchain, tmp_path, crash_at)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    assert "worker done" not in crashed.stdout
    restarted = run_worker(devchain, tmp_path)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    state = load_state(tmp_path / "state.json")
    check_consistent(state, devchain)
    assert summary(state, devchain) == reference
    step = crash_at.split("#")[0].split(".")[1]
    # saved but never sent: recovery sends the very same bytes; never saved: nothing to rebroadcast
    assert ("rebroadcast" in restarted.stdout) == (step == "recorded"), restarted.stdout


def unique_clock(devchain, name: str) -> None:
    """Move the chain's clock by a per-test amount.

    Swap deadlines follow the chain's clock, which restarts from the same snapshot in every
    test; without this, two tests would sign byte-identical transactions, and anvil remembers
    transaction hashes across an evm_revert.
    """
    offset = 1_000 + sum(ord(c) * 31**i for i, c in enumerate(name)) % 1_000_000
    devchain.web3.provider.make_request("evm_increaseTime", [offset])


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("dropped", [False, True], ids=["mined-after-kill", "dropped-from-mempool"])
def test_sigkill_while_waiting_for_confirmation(devchain, tmp_path, reference, dropped) -> None:
    """Killed with its transaction in the mempool; mined later, or dropped and rebroadcast on restart."""
    web3, wallet = devchain.web3, devchain.hot_wallet.address
    unique_clock(devchain, f"waiting-{dropped}")
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER)],
            env=worker_env(devchain, tmp_path, None),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(
                lambda: (
                    web3.eth.get_transaction_count(wallet, "pending") > web3.eth.get_transaction_count(wallet)
                )
            )
            time.sleep(0.2)  # it is now polling for the receipt
            assert worker.poll() is None
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        pending = web3.provider.make_request("eth_getBlockByNumber", ["pending", False])["result"][
            "transactions"
        ]
        assert len(pending) == 1
        if dropped:
            web3.provider.make_request("anvil_dropTransaction", [pending[0]])
            assert web3.eth.get_transaction_count(wallet, "pending") == web3.eth.get_transaction_count(wallet)
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
    if not dropped:
        web3.provider.make_request("evm_mine", [])
    restarted = run_worker(devchain, tmp_path)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    state = load_state(tmp_path / "state.json")
    check_consistent(state, devchain)
    assert summary(state, devchain) == reference
    first = state.portfolio.get_trade(1).blockchain_transactions[0]
    assert first.status == TxStatus.success  # the very transaction signed before the kill
