"""`trade-executor start` as operators run it: a real process, a real chain, real HTTP.

One dedicated devchain per module with 20 minutes of simulated market history (the
session chain cannot replay the past), the executor started as a subprocess, and its
webhook polled over loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeexecutor.state.store import JSONFileStore

BUY_ONCE = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1m"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC"]
NAME = "Buy once"

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    pm = input.position_manager
    pair = input.universe.get_pair_by_ticker("WETH-USDC")
    if input.universe.latest_close(pair):
        input.plots.record("last close", input.universe.latest_close(pair), colour="orange")
    if pm.get_current_position_for_pair(pair) is None and input.universe.latest_close(pair):
        return pm.open_1x_long(pair, 100, stop_loss_pct=0.5, notes="e2e buy")
    return []
"""

RAISES = BUY_ONCE.replace(
    "def decide_trades(input):\n",
    "def decide_trades(input):\n    raise ValueError('strategy bug on purpose')\n",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def market_chain() -> Iterator[object]:
    from tradeexecutor.devchain.chain import start_devchain
    from tradeexecutor.devchain.market import MarketSimulator

    with start_devchain(genesis_timestamp=int(time.time()) - 21 * 60) as chain:
        MarketSimulator(chain.web3, chain.deployment, seed=7).backfill(20)
        yield chain


def _fresh_hot_wallet(chain) -> object:
    """A new funded wallet per test, so no test sees another test's tokens on the shared chain."""
    from eth_account import Account

    from tradeexecutor.ethereum.abi import ERC20, abi

    account = Account.create()
    web3 = chain.web3
    web3.provider.make_request("anvil_setBalance", [account.address, hex(10 * 10**18)])
    usdc = chain.deployment.token("USDC")
    token = web3.eth.contract(
        address=usdc.address, abi=[*abi(ERC20), *abi(("function mint(address to, uint256 amount)",))]
    )
    tx = token.functions.mint(account.address, 1_000 * 10**6).transact({"from": web3.eth.accounts[0]})
    web3.eth.wait_for_transaction_receipt(tx)
    return account


@pytest.fixture()
def executor(market_chain, tmp_path: Path):
    """Run `trade-executor start` in tmp_path against the module chain, from a fresh hot wallet."""
    deployment = tmp_path / "devchain.json"
    market_chain.deployment.write(deployment)
    wallet = _fresh_hot_wallet(market_chain)
    env = {
        **os.environ,
        "PRIVATE_KEY": wallet.key.to_0x_hex(),
        "JSON_RPC_ANVIL": market_chain.rpc_url,
        "DEPLOYMENT_FILE": str(deployment),
        "HEARTBEAT": "none",
    }
    procs: list[subprocess.Popen[str]] = []

    def start(
        strategy: str, *args: str, wait: bool = True, **kw
    ) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
        path = tmp_path / "strategy.py"
        path.write_text(strategy)
        cmd = [
            sys.executable,
            "-c",
            "from tradeexecutor.cli.main import run; run()",
            "start",
            "--execution-type",
            kw.pop("execution_type", "uniswap_v2_hot_wallet"),
            "--strategy-file",
            str(path),
            "--state-file",
            str(tmp_path / "state.json"),
            *args,
        ]
        if wait:
            return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append(proc)
        return proc

    start.wallet = wallet  # type: ignore[attr-defined]
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def _load(path: Path):
    with JSONFileStore(path, read_only=True) as store:
        return store.load()


def _not_near_a_minute_boundary(margin: float = 25.0) -> None:
    """Wait until both runs of a test fit in one 1-minute cycle (a new minute is a new cycle)."""
    second = time.time() % 60
    if second > 60 - margin:
        time.sleep(60 - second + 0.5)


def test_single_cycle_trades_from_the_hot_wallet_and_restart_does_not_repeat(
    executor, tmp_path, market_chain
) -> None:
    _not_near_a_minute_boundary()
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled")
    assert result.returncode == 0, result.stderr
    state = _load(tmp_path / "state.json")
    assert state.cycle.completed_count == 1
    [position] = state.portfolio.open_positions.values()
    [trade] = position.trades.values()
    assert trade.status == "success" and trade.notes == "e2e buy"
    assert trade.blockchain_transactions[-1].status == "success"
    # the strategy's plot is in the state exactly as a backtest records it
    [series] = state.plots.series.values()
    assert (series.name, series.ticker, series.colour) == ("last close", "WETH-USDC", "orange")
    assert state.plots.times == [int(state.cycle.last_completed_at.timestamp())]
    assert series.values[0] > 0
    web3 = market_chain.web3
    nonce = web3.eth.get_transaction_count(executor.wallet.address)

    again = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled")
    assert again.returncode == 0, again.stderr
    assert _load(tmp_path / "state.json").cycle.completed_count == 1  # the same cycle was not run twice
    assert web3.eth.get_transaction_count(executor.wallet.address) == nonce


def test_failing_strategy_halts_but_webhook_stays_up_until_sigterm(executor, tmp_path) -> None:
    port = _free_port()
    proc = executor(RAISES, "--trade-immediately", "--http-port", str(port), wait=False)
    status = _wait_for(
        lambda: (s := _get(port, "/status")[1]) and s["executor_running"] is False and s,
        what="/status to report the halt",
    )
    assert "strategy bug on purpose" in status["exception"]["message"]
    assert "strategy.py" in status["exception"]["traceback"]  # points into the user's file
    code, health = _get(port, "/health")
    assert code == 503 and "halted" in health["reason"]
    assert _get(port, "/ping") == (200, {"ping": "pong"})
    time.sleep(0.5)
    assert proc.poll() is None  # still up after the trading crash
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert _load(tmp_path / "state.json").cycle.completed_count == 0


def test_status_positions_and_state_while_running(executor, tmp_path) -> None:
    port = _free_port()
    proc = executor(BUY_ONCE, "--trade-immediately", "--http-port", str(port), wait=False)
    status = _wait_for(lambda: (s := _get(port, "/status")[1])["completed_cycle"] == 1 and s, what="cycle 1")
    assert status["executor_running"] and status["exception"] is None
    assert status["trades_succeeded"] == 1
    assert _get(port, "/health")[0] == 200
    code, positions = _get(port, "/positions")
    assert code == 200 and positions["positions"][0]["pair"] == "WETH-USDC"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=5) as r:
        served = r.read()
    assert served == (tmp_path / "state.json").read_bytes()  # exactly the last save
    assert (
        "PRIVATE_KEY" not in served.decode() and os.environ.get("PRIVATE_KEY", "nope") not in served.decode()
    )
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0


def test_second_executor_on_the_same_state_is_refused(executor, tmp_path) -> None:
    port = _free_port()
    first = executor(BUY_ONCE, "--http-port", str(port), wait=False)
    _wait_for(lambda: _get(port, "/ping")[0] == 200, what="the first executor")
    second = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled")
    assert second.returncode == 1
    assert f"PID {first.pid}" in second.stderr or str(first.pid) in second.stderr
    assert "Traceback" not in second.stderr
    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0


def test_port_in_use_is_one_sentence(executor) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = executor(BUY_ONCE, "--run-single-cycle", "--http-port", str(port))
    assert result.returncode == 1
    assert "already in use" in result.stderr and "Traceback" not in result.stderr


def test_paper_trading_books_fills_and_sends_nothing(executor, tmp_path, market_chain) -> None:
    web3 = market_chain.web3
    nonce = web3.eth.get_transaction_count(executor.wallet.address)
    result = executor(
        BUY_ONCE, "--run-single-cycle", "--http-disabled", "--initial-cash", "500", execution_type="dummy"
    )
    assert result.returncode == 0, result.stderr
    state = _load(tmp_path / "state.json")
    [position] = state.portfolio.open_positions.values()
    [trade] = position.trades.values()
    assert trade.status == "success" and not trade.blockchain_transactions
    assert state.portfolio.cash() == 400
    assert web3.eth.get_transaction_count(executor.wallet.address) == nonce


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--execution-type", "warp_drive"], "Unknown --execution-type 'warp_drive'"),
        (["--cycle-offset-minutes", "90"], "--cycle-offset-minutes"),
        (["--stop-loss-check-frequency", "soon"], "is not a duration"),
    ],
)
def test_bad_options_are_one_sentence(executor, args, message) -> None:
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", *args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_audit_runs_after_the_cycle_when_enabled(executor, tmp_path) -> None:
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", "--audit")
    assert result.returncode == 0, result.stderr
    state = _load(tmp_path / "state.json")
    assert state.audit_cursor is not None and state.audit_cursor.passed_count >= 1
    assert state.cycle.completed_count == 1


def test_restart_audits_before_trading_and_halts_on_a_rogue_transaction(
    executor, tmp_path, market_chain
) -> None:
    from datetime import timedelta

    assert executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", "--audit").returncode == 0
    # While the executor is down, someone spends a nonce of its hot wallet...
    web3, wallet = market_chain.web3, executor.wallet
    rogue = wallet.sign_transaction(
        {
            "to": web3.eth.accounts[1],
            "value": 1,
            "gas": 21_000,
            "gasPrice": 2 * web3.eth.gas_price,
            "nonce": web3.eth.get_transaction_count(wallet.address),
            "chainId": 31337,
        }
    )
    rogue_hash = web3.eth.send_raw_transaction(rogue.raw_transaction).to_0x_hex()
    web3.eth.wait_for_transaction_receipt(rogue_hash)
    # ...and a cycle is due when it comes back (its last one was a minute earlier).
    with JSONFileStore(tmp_path / "state.json") as store:
        state = store.load()
        state.cycle.last_completed_at -= timedelta(minutes=1)
        store.save(state)

    again = executor(RAISES, "--run-single-cycle", "--http-disabled", "--audit")
    output = again.stdout + again.stderr
    assert again.returncode == 1, output
    assert "strategy bug on purpose" not in output  # no cycle ran: the audit came first
    state = _load(tmp_path / "state.json")
    assert state.cycle.completed_count == 1
    assert any(f.tx_hash == rogue_hash and not f.ok for f in state.audit_findings), state.audit_findings


def test_audit_is_refused_for_paper_trading(executor) -> None:
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", "--audit", execution_type="dummy")
    assert result.returncode == 1 and "paper trading" in result.stderr


def test_simulate_rehearses_on_a_fork_and_leaves_chain_and_state_untouched(
    executor, tmp_path, market_chain
) -> None:
    web3 = market_chain.web3
    address = executor.wallet.address
    before = (web3.eth.get_transaction_count(address), web3.eth.block_number)
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", "--simulate")
    assert result.returncode == 0, result.stderr
    assert "SIMULATION" in result.stdout + result.stderr
    assert not (tmp_path / "state.json").exists()  # the real state file is never written
    simulated = _load(tmp_path / "state.simulated.json")
    [position] = simulated.portfolio.open_positions.values()
    assert next(iter(position.trades.values())).status == "success"
    assert (web3.eth.get_transaction_count(address), web3.eth.block_number) == before


def test_a_traded_cycle_reaches_discord_statsd_and_logstash_without_secrets(executor, tmp_path) -> None:
    """The whole `start` process, its sinks pointed at loopback stand-ins for the outside world."""
    from tests.standins import RecordingHttpServer, UdpListener, wait_until

    discord, statsd, logstash = RecordingHttpServer(), UdpListener(), UdpListener()
    token = "e2e-discord-token-not-for-logs"
    try:
        _not_near_a_minute_boundary()
        result = executor(
            BUY_ONCE,
            "--run-single-cycle",
            "--http-disabled",
            "--discord-webhook-url",
            f"{discord.url}/api/webhooks/1/{token}",
            "--statsd-host",
            "127.0.0.1",
            "--statsd-port",
            str(statsd.port),
            "--logstash-server",
            f"127.0.0.1:{logstash.port}",
        )
        assert result.returncode == 0, result.stderr
        state = _load(tmp_path / "state.json")
        [trade] = next(iter(state.portfolio.open_positions.values())).trades.values()
        tx_hash = trade.blockchain_transactions[-1].tx_hash

        # Discord: the start, the trade with its transaction, the stop (delivered before exit)
        contents = discord.contents()
        assert len(contents) >= 3, contents
        trade_message = next(c for c in contents if "WETH-USDC" in c and tx_hash in c)
        assert "buy" in trade_message.lower()
        assert all(r.path == f"/api/webhooks/1/{token}" for r in discord.requests)
        # statsd: the cycle and the trade counted
        assert wait_until(lambda: "trade_executor.cycles_completed:1|c" in statsd.lines()), statsd.lines()
        assert any(line.startswith("trade_executor.trades_succeeded:1|c") for line in statsd.lines())
        # Logstash: the run's records, tagged with the strategy and, for the cycle, its number
        assert wait_until(lambda: any(e.get("cycle") == 1 for e in logstash.events()))
        assert all(e.get("strategy_id") for e in logstash.events())
    finally:
        for stand_in in (discord, statsd, logstash):
            stand_in.close()

    key = executor.wallet.key.to_0x_hex()
    everything = [
        *discord.contents(),
        *statsd.lines(),
        *map(str, logstash.events()),
        result.stdout,
        result.stderr,
    ]
    for secret in (key, key.removeprefix("0x"), token):
        assert not any(secret in text for text in everything), f"a secret leaked: {secret[:6]}..."


def test_json_logs_go_to_stdout_one_object_per_line(executor, tmp_path) -> None:
    _not_near_a_minute_boundary()
    result = executor(BUY_ONCE, "--run-single-cycle", "--http-disabled", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]  # nothing but JSON lines
    done = [e for e in events if e["message"].startswith("Cycle 1 for ")]
    assert done and done[0]["level"] == "info" and done[0]["strategy_id"] == "strategy"
    assert any(e.get("trade_id") is not None for e in events), "trade context is a field of its own"
    key = executor.wallet.key.to_0x_hex()
    assert key[2:] not in result.stdout and key[2:] not in result.stderr
