"""check-universe, check-wallet, perform-test-trade and repair, run as the installed command against the devchain."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.chain_helpers import move_market
from tests.live.state_file import load_state, save_state
from tradeexecutor.state.trade import TradeStatus, TradeType

EXECUTABLE = Path(sys.executable).with_name("trade-executor")

STRATEGY = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
CANDLE_TIME_BUCKET = "{bucket}"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = {chain_id}
TRADING_PAIRS = {pairs!r}

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""


@pytest.fixture()
def cli(devchain, tmp_path):
    deployment = tmp_path / "deployment.json"
    devchain.deployment.write(deployment)

    def write_strategy(pairs=("WETH-USDC",), bucket="1h", chain_id=31337) -> Path:
        path = tmp_path / "strategy.py"
        path.write_text(STRATEGY.format(pairs=list(pairs), bucket=bucket, chain_id=chain_id))
        return path

    def run(
        *args: str, env: dict[str, str] | None = None, key: str | None = None
    ) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith("JSON_RPC_") and k != "PRIVATE_KEY"}
        base.update(
            JSON_RPC_ANVIL=devchain.rpc_url,
            PRIVATE_KEY=devchain.hot_wallet.key.to_0x_hex() if key is None else key,
            STRATEGY_FILE=str(tmp_path / "strategy.py"),
            DEPLOYMENT_FILE=str(deployment),
            STATE_FILE=str(tmp_path / "state.json"),
        )
        base.update(env or {})
        return subprocess.run(
            [str(EXECUTABLE), *args], capture_output=True, text=True, env=base, timeout=120, cwd=tmp_path
        )

    write_strategy()
    return type(
        "Cli", (), {"run": staticmethod(run), "strategy": staticmethod(write_strategy), "dir": tmp_path}
    )


def one_sentence_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --- check-universe -----------------------------------------------------------------------------


def test_check_universe_reports_latest_candle_and_gates_on_its_age(cli, devchain) -> None:
    empty = cli.run("check-universe")
    one_sentence_error(empty, "The universe has no candles at all")

    move_market(devchain, "USDC", "WETH", 1_000 * 10**6)
    ok = cli.run("check-universe", "--max-data-delay-minutes", "120")
    assert ok.returncode == 0, ok.stderr
    assert "Latest OHLCV candle is at: " in ok.stdout and " ago" in ok.stdout and "All ok" in ok.stdout
    assert (cli.dir / "cache" / "onchain-candles").is_dir()  # scanned once, cached

    now = datetime.now(UTC)
    if now.hour == 0 and now.minute < 2:
        pytest.skip("a daily candle of the first minutes of a day is not stale yet")
    cli.strategy(bucket="1d")  # a daily candle opened at midnight: hours old
    stale = cli.run("check-universe", "--max-data-delay-minutes", "1")
    one_sentence_error(stale, "more than --max-data-delay-minutes 1", "stale")
    assert "Latest OHLCV candle is at: " in stale.stdout


def test_check_universe_json(cli, devchain) -> None:
    move_market(devchain, "USDC", "WETH", 1_000 * 10**6)
    ok = cli.run("check-universe", "--json", "--max-data-delay-minutes", "120")
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert document["ok"] is True and document["problems"] == []
    assert document["pairs"] == ["WETH-USDC"] and document["reserve"] == "USDC"
    assert 0 <= document["latest_candle_age_seconds"] <= 120 * 60
    assert datetime.fromisoformat(document["latest_candle_at"]).tzinfo is not None
    [weth] = document["candles"]  # pair by pair
    assert weth["pair"] == "WETH-USDC" and weth["ok"] is True
    assert weth["age_seconds"] == document["latest_candle_age_seconds"]
    cli.strategy(bucket="1d")
    if datetime.now(UTC).hour == 0 and datetime.now(UTC).minute < 2:
        return
    stale = cli.run("check-universe", "--json", "--max-data-delay-minutes", "1")
    one_sentence_error(stale, "more than --max-data-delay-minutes 1")
    document = json.loads(stale.stdout)
    assert document["ok"] is False and document["candles"][0]["ok"] is False
    [problem] = document["problems"]
    assert problem.startswith("WETH-USDC's newest candle is ")
    assert problem.endswith(" old, more than --max-data-delay-minutes 1")


# --- check-wallet -------------------------------------------------------------------------------


def test_check_wallet_shows_everything_and_exits_zero(cli, devchain) -> None:
    result = cli.run("check-wallet")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "Chain id is 31337 (anvil)",
        f"Hot wallet is {devchain.hot_wallet.address}",
        "Gas money: 100 ETH",
        ": 10000 USDC",
        "Estimated gas fees for chain 31337: <Gas pricing method:london",
        "Execution model is tradeexecutor.execution.live.execution_model.UniswapV2ExecutionModel",
        "Token pricing model is tradeexecutor.execution.live.pricing.UniswapV2LivePricing",
        "Position valuation model is tradeexecutor.execution.live.valuation.UniswapV2Valuation",
        f"factory {devchain.deployment.factory} uses router {devchain.deployment.router}",
        "DEV-WETH buys route USDC -> WETH -> DEV",
        "All ok",
    ):
        assert expected in out, out
    assert devchain.hot_wallet.key.to_0x_hex()[2:] not in out + result.stderr


def test_check_wallet_lists_every_problem_of_an_empty_wallet(cli) -> None:
    from tradeexecutor.ethereum.wallet import HotWallet

    empty = HotWallet.create()
    result = cli.run("check-wallet", key=empty.export_private_key())
    one_sentence_error(result, "check-wallet found 2 problem(s)")
    assert f"PROBLEM: Hot wallet {empty.address} has 0 ETH for gas, below the minimum" in result.stdout
    assert f"PROBLEM: Hot wallet {empty.address} holds no USDC" in result.stdout


def test_check_wallet_json(cli, devchain) -> None:
    from tradeexecutor.ethereum.wallet import HotWallet

    result = cli.run("check-wallet", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["chain_id"] == 31337 and document["chain"] == "anvil"
    assert document["hot_wallet"] == devchain.hot_wallet.address
    assert document["gas"] == {"symbol": "ETH", "balance": 100, "minimum": document["gas"]["minimum"]}
    assert document["reserve"]["symbol"] == "USDC" and document["reserve"]["balance"] == 10_000
    assert document["gas_pricing"]["method"] == "london" and document["gas_pricing"]["max_fee_wei"] > 0
    routes = {r["pair"]: r for r in document["routes"]}
    assert routes["DEV-WETH"]["route"] == "USDC -> WETH -> DEV" and len(routes["DEV-WETH"]["pools"]) == 2
    assert "UniswapV2ExecutionModel" in document["models"]["Execution model"]
    assert devchain.hot_wallet.key.to_0x_hex()[2:] not in result.stdout + result.stderr

    empty = HotWallet.create()
    bad = cli.run("check-wallet", "--json", key=empty.export_private_key())
    one_sentence_error(bad, "check-wallet found 2 problem(s), listed in the JSON")
    document = json.loads(bad.stdout)
    assert document["ok"] is False and len(document["problems"]) == 2
    assert document["gas"]["balance"] == 0


@pytest.mark.parametrize(
    ("key", "needle"),
    [("", "PRIVATE_KEY is not set"), ("0x1234nothex", "PRIVATE_KEY is not a valid 32-byte hex private key")],
    ids=["missing", "invalid"],
)
def test_check_wallet_key_problems(cli, key, needle) -> None:
    result = cli.run("check-wallet", key=key)
    one_sentence_error(result, needle)
    if key:
        assert key not in result.stderr + result.stdout


def test_wrong_chain_and_unreachable_node(cli) -> None:
    from tradeexecutor.devchain.anvil import AnvilProcess

    with AnvilProcess(chain_id=5) as other:
        wrong = cli.run(
            "check-wallet", env={"JSON_RPC_ANVIL": other.start() if other.url is None else other.url}
        )
    one_sentence_error(wrong, "is on chain 5", "but the strategy's CHAIN_ID is 31337")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/secret-api-key"
    down = cli.run("check-wallet", env={"JSON_RPC_ANVIL": dead})
    one_sentence_error(down, "No JSON-RPC node answered", "check that the node is up")
    assert "secret-api-key" not in down.stderr


def test_unknown_pair_and_missing_exchange(cli) -> None:
    result = cli.run("perform-test-trade", "--test-trade-pair", "FOO-USDC")
    one_sentence_error(result, "Pair FOO-USDC is not in the deployment")
    cli.strategy(pairs=("WETH-USDC", "DEV-USDC"))
    result = cli.run("perform-test-trade")
    one_sentence_error(result, "several pairs (WETH-USDC, DEV-USDC): choose one with --test-trade-pair")
    result = cli.run("check-wallet", env={"DEPLOYMENT_FILE": ""})
    one_sentence_error(result, "No exchange given")


# --- perform-test-trade -------------------------------------------------------------------------


def test_perform_test_trade_buys_and_sells_back_recorded_as_test_trades(cli) -> None:
    result = cli.run("perform-test-trade")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Making a test trade on pair: WETH-USDC at 0x" in out and "for 1 USDC price is " in out
    assert "Now closing the position." in out and out.rstrip().endswith("All ok")
    state = load_state(cli.dir / "state.json")
    trades = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)
    assert [t.trade_type for t in trades] == [TradeType.test, TradeType.test]
    assert all(t.status == TradeStatus.success and "Test trade" in t.notes for t in trades)
    (position,) = state.portfolio.closed_positions.values()
    assert "Test trade" in position.notes and position.quantity_raw == 0
    assert trades[0].executed_reserve_raw == 10**6  # 1 USDC


def test_perform_test_trade_json(cli) -> None:
    result = cli.run("perform-test-trade", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout, parse_float=Decimal)  # the outcome only: progress went to stderr
    assert "Now closing the position." in result.stderr
    state = load_state(cli.dir / "state.json")
    buy, sell = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)
    assert document["ok"] is True and document["pair"] == "WETH-USDC" and document["simulated"] is False
    assert document["buy"]["trade_id"] == buy.trade_id and document["buy"]["value"] == 1
    assert document["sell"]["quantity"] == abs(sell.executed_quantity)  # exact: JSON numbers, all digits
    assert document["round_trip_cost"] == buy.executed_reserve - sell.executed_reserve
    assert document["buy"]["tx_hash"] == buy.blockchain_transactions[-1].tx_hash
    assert document["gas"] > 0 and document["gas_symbol"] == "ETH"


def test_perform_test_trade_refuses_to_mix_with_an_open_position(cli) -> None:
    # killed after the buy settled, before the sell was signed: the state holds an open WETH position
    killed = cli.run("perform-test-trade", env={"TRADE_EXECUTOR_CRASH_AT": "swap.signed#2"})
    assert killed.returncode == -9 and "Now closing the position." in killed.stdout
    state = load_state(cli.dir / "state.json")
    assert [p.pair.ticker for p in state.portfolio.open_positions.values()] == ["WETH-USDC"]
    again = cli.run("perform-test-trade")
    one_sentence_error(again, "A position in WETH-USDC is already open")
    assert load_state(cli.dir / "state.json").portfolio.pending_trades() == []


def cli_pair(devchain, ticker: str):
    from tradeexecutor.ethereum.uniswap_v2.deployments import pairs_from_file

    return pairs_from_file(devchain.deployment)[ticker]


# --- repair -------------------------------------------------------------------------------------


def test_repair_lists_then_resolves_from_the_chain(cli, devchain) -> None:
    assert cli.run("repair").returncode == 1  # no state file yet: one sentence
    assert cli.run("perform-test-trade").returncode == 0
    nothing = cli.run("repair")
    assert nothing.returncode == 0 and "Nothing to repair" in nothing.stdout

    from decimal import Decimal

    state = load_state(cli.dir / "state.json")
    state.plan_trade(
        datetime.now(UTC), cli_pair(devchain, "WETH-USDC"), price=Decimal(2000), reserve=Decimal(10)
    )
    save_state(cli.dir / "state.json", state)
    listed = cli.run("repair")
    one_sentence_error(listed, "1 unfinished trade(s) and 0 frozen position(s) need repair", "--yes")
    assert "Trade #3 buy" in listed.stdout and "(planned)" in listed.stdout
    fixed = cli.run("repair", "--yes")
    assert fixed.returncode == 0, fixed.stderr
    assert (
        "Trade #3 WETH-USDC: failed: execution was interrupted before this trade sent anything"
        in fixed.stdout
    )
    state = load_state(cli.dir / "state.json")
    assert state.portfolio.pending_trades() == [] and state.portfolio.free_cash() == state.portfolio.cash()
    assert cli.run("repair").returncode == 0


def _stuck_swap(cli, devchain) -> tuple[str, int]:
    """A buy whose swap transaction was recorded and broadcast but cannot be mined (its fee
    is under the base fee), as after a fee spike; returns the stuck transaction's hash and
    the base fee before the spike."""
    from decimal import Decimal

    from tradeexecutor.ethereum.tx import TransactionPipeline, send_raw
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.transactions import SWAP_FUNCTION, to_state_transaction

    web3 = devchain.web3
    wallet = HotWallet.from_env({"PRIVATE_KEY": devchain.hot_wallet.key.to_0x_hex()})
    pipeline = TransactionPipeline(web3, wallet)
    state = load_state(cli.dir / "state.json")
    now = datetime.now(UTC)
    trade = state.plan_trade(now, cli_pair(devchain, "WETH-USDC"), price=Decimal(2000), reserve=Decimal(10))
    state.start_trade(trade, now)
    calm = web3.eth.get_block("pending")["baseFeePerGas"]
    web3.provider.make_request("evm_setAutomine", [False])
    tx = {
        "chainId": 31337,
        "from": wallet.address,
        "to": wallet.address,
        "data": "0x",
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "nonce": web3.eth.get_transaction_count(wallet.address, "pending"),
    }
    signed = pipeline.sign(tx, "stuck swap")
    record = to_state_transaction(signed, SWAP_FUNCTION, {})
    state.record_transaction(trade, record)
    record.mark_broadcast(now)
    state.mark_broadcast(trade, now)
    save_state(cli.dir / "state.json", state)
    send_raw(web3, signed)
    # The fee spike: every later block's base fee is far above what the swap pays.
    web3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(100 * 10**9)])
    web3.provider.make_request("evm_mine", [])
    web3.provider.make_request("evm_setAutomine", [True])
    assert web3.eth.get_transaction_count(wallet.address, "latest") == tx["nonce"]  # still not mined
    return signed.tx_hash, calm


def _calm_down(devchain, tx_hash: str, base_fee: int) -> None:
    """Undo what evm_revert does not: the pool, automine and anvil's next base fee."""
    request = devchain.web3.provider.make_request
    request("evm_setAutomine", [True])
    request("anvil_dropTransaction", [tx_hash])
    request("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])


def test_repair_cancels_a_stuck_transaction_instead_of_forgetting_it(cli, devchain) -> None:
    from tradeexecutor.state.transaction import TxStatus

    assert cli.run("perform-test-trade").returncode == 0
    stuck, calm = _stuck_swap(cli, devchain)
    try:
        fixed = cli.run("repair", "--yes", "--confirmation-timeout", "1")
    finally:
        _calm_down(devchain, stuck, calm)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "is still pending" in fixed.stdout and "cancelling them" in fixed.stdout, fixed.stdout
    state = load_state(cli.dir / "state.json")
    (trade,) = [t for t in state.portfolio.all_trades() if t.trade_id == 3]
    assert trade.status == TradeStatus.failed and "replaced" in (trade.failure_reason or "")
    original, cancel = trade.blockchain_transactions
    assert original.tx_hash == stuck and original.status == TxStatus.dropped
    assert (
        cancel.function == "cancel" and cancel.status == TxStatus.success and cancel.nonce == original.nonce
    )
    assert cancel.gas_fee_booked and any(e.tx_hash == cancel.tx_hash for e in state.ledger.entries)
    assert state.portfolio.pending_trades() == [] and state.portfolio.free_cash() == state.portfolio.cash()
    # The state matches the chain: balances (cancellation gas included) and every nonce known.
    audit = cli.run("audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_repair_without_the_key_leaves_a_stuck_transaction_pending(cli, devchain) -> None:
    assert cli.run("perform-test-trade").returncode == 0
    stuck, calm = _stuck_swap(cli, devchain)
    try:
        refused = cli.run("repair", "--yes", "--confirmation-timeout", "1", key="")
    finally:
        _calm_down(devchain, stuck, calm)
    one_sentence_error(refused, "transactions still pending", "PRIVATE_KEY")
    state = load_state(cli.dir / "state.json")
    assert [t.trade_id for t in state.portfolio.pending_trades()] == [3]  # not given up on unreplaced
