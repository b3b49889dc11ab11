"""Chaos for the live executor: real `trade-executor start` processes on the devchain, killed
and starved of their node, then checked against the chain.

Used by `benchmarks/chaos.py` (the full run and its table) and by the `chaos` test marker (a
reduced count). Nothing here trusts the executor's own bookkeeping: the verdict comes from
the chain.

A *lane* is one anvil node (its state dumped on exit, so it can be restarted like a real node
that loses its mempool), Uniswap v2 deployed on it, and a fault proxy (`rpc_proxy.py`) in front
of it. Each scenario gets a fresh hot wallet and state file on a lane and runs a real `start`
process (1 minute cycles, `--trade-immediately`, stop-loss checks every 5 s) of a strategy that
buys WETH and DEV with 10 USDC each in odd cycles (stop loss at 80 % of the entry) and sells
them in even cycles.

Scenarios:

- kill chains: the executor is SIGKILLed at a seam of the trade lifecycle (the
  `TRADE_EXECUTOR_CRASH_AT` points of execution/live/crash.py: approve/swap signed, recorded,
  broadcast, confirmed, settled) or at a random offset after it started (start-up, recovery,
  sync, the cycle, a save), restarted, killed again at the next point, ... then run clean to
  the end of its cycle;
- outages: the node refuses connections, black-holes them, answers every call 5 s late, or
  restarts and loses its mempool, timed by the proxy to the executor's universe build,
  reserve sync, broadcast, confirmation, stop-loss check or state save. For the stop-loss
  check, the price crashes through the stops while the node is away.

Verification, per wallet: every transaction the wallet sent is read from the chain; each
successful router swap is decoded from its ERC-20 Transfer logs and matched to exactly one
trade the state booked as executed, with the same hash and amounts. A swap without such a
trade, a booked trade without its swap, a trade still unfinished at the end or a balance the
books do not match is *lost*; two swaps in a row in the same direction on a pair (the
strategy alternates buy and sell) are *duplicated*. An executor that is still halted after a
transient fault, or that does not complete a cycle after the node is back, is a *permanent
halt*. Recovery is measured from the node's return to the next completed cycle; a stop is
*late* when its sell is mined more than the check period + 10 s after the node's return.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.devchain.chain import ANVIL_CHAIN_ID
from tradeexecutor.devchain.deploy import deploy_devchain
from tradeexecutor.devchain.rpc_proxy import BLACKHOLE, REFUSE, SLOW, RpcProxy, methods_of
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, WETH, abi
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile

RESTART = "restart"
OUTAGE_MODES = (REFUSE, BLACKHOLE, SLOW, RESTART)
PHASES = ("universe build", "reserve sync", "broadcast", "confirmation", "trigger check", "save")
APPROVE_STEPS = ("signed", "recorded", "broadcast", "confirmed")
SWAP_STEPS = (*APPROVE_STEPS, "settled")
SEAMS = tuple(f"approve.{s}" for s in APPROVE_STEPS) + tuple(f"swap.{s}" for s in SWAP_STEPS)

CYCLE_SECONDS = 60.0
STOP_LOSS_CHECK_SECONDS = 5.0
TRADE_USDC = 10
STOP_LOSS_PCT = 0.8
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SWAP_FUNCTION = "swapExactTokensForTokens"

STRATEGY = f'''"""Chaos strategy: buy in odd cycles (with a stop loss), sell in even cycles."""

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1m"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = {ANVIL_CHAIN_ID}
TRADING_PAIRS = ["WETH-USDC", "DEV-USDC"]
NAME = "Chaos"


def create_trading_universe(input):
    return input.create_universe()


def decide_trades(input):
    pm = input.position_manager
    trades = []
    for ticker in TRADING_PAIRS:
        pair = input.universe.get_pair_by_ticker(ticker)
        position = pm.get_current_position_for_pair(pair)
        if input.cycle % 2 == 1 and position is None:
            trades += pm.open_1x_long(pair, {TRADE_USDC}, stop_loss_pct={STOP_LOSS_PCT})
        elif input.cycle % 2 == 0 and position is not None:
            trades += pm.close_position(position)
    return trades
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, poll: float = 0.2) -> Any:
    """The first truthy value of `condition()`, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


# --- results ------------------------------------------------------------------------------------


@dataclass
class Verification:
    """The chain against the state, for one wallet."""

    swaps_on_chain: int = 0
    trades_booked: int = 0
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    name: str
    kind: str  # "kill" | "outage"
    kills: int = 0
    kill_points: list[str] = field(default_factory=list)
    verification: Verification = field(default_factory=Verification)
    permanent_halt: bool = False
    recovery_s: float | None = None  # node back -> next completed cycle
    stop_delay_s: float | None = None  # node back -> stop-loss sell mined
    late_stop: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        v = self.verification
        return not (v.lost or v.duplicated or self.permanent_halt or self.late_stop)


@dataclass
class ChaosReport:
    results: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        kills = [r for r in self.results if r.kind == "kill"]
        outages = [r for r in self.results if r.kind == "outage"]
        recoveries = [r.recovery_s for r in outages if r.recovery_s is not None]
        return {
            "kill_points": sum(r.kills for r in kills),
            "outage_scenarios": len(outages),
            "lost": sum(r.verification.lost for r in self.results),
            "duplicated": sum(r.verification.duplicated for r in self.results),
            "permanent_halts": sum(r.permanent_halt for r in self.results),
            "max_recovery_s": round(max(recoveries), 1) if recoveries else None,
            "late_stops": sum(r.late_stop for r in self.results),
            "stop_loss_checks": sum(r.stop_delay_s is not None for r in outages),
            "swaps_verified": sum(r.verification.swaps_on_chain for r in self.results),
            "seconds": round(self.seconds, 1),
        }


# --- one executor process -----------------------------------------------------------------------


class Executor:
    """A `trade-executor start` child process and its webhook."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.started = time.monotonic()

    def get(self, path: str) -> Any:
        answer = self.get_with_code(path)
        return answer[1] if answer is not None else None

    def get_with_code(self, path: str) -> tuple[int, Any] | None:
        """(HTTP status, decoded JSON) of a webhook endpoint, None while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
        except (OSError, ValueError):
            return None

    def status(self) -> dict[str, Any] | None:
        return self.get("/status")

    def unfinished_trades(self) -> list[int] | None:
        page = self.get("/trades?limit=1000")
        if page is None:
            return None
        return [t["trade_id"] for t in page["trades"] if t["status"] in ("planned", "started", "broadcast")]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def phase(self) -> str:
        """Where the process was when killed, from its last log line (for the kill-point table)."""
        lines = [line for line in self.tail(4).lower().splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        for needle, phase in (
            (" done:", "between cycles"),
            ("stop-loss", "stop-loss check"),
            ("recovery", "recovery"),
            ("broadcast", "cycle (executing)"),
            ("hot wallet", "cycle (sync, universe, decide)"),
            ("loaded the state", "start-up (recovery)"),
            ("created a new state", "start-up (recovery)"),
            ("webhook listening", "start-up (connect)"),
        ):
            if needle in last:
                return phase
        return "start-up (imports)"


# --- a lane: one node, its deployment, its proxy ------------------------------------------------


class Lane:
    def __init__(self, index: int, root: Path, pycache: Path) -> None:
        self.index = index
        self.root = root / f"lane-{index}"
        self.root.mkdir(parents=True, exist_ok=True)
        self.pycache = pycache
        self.port = free_port()
        self.dump = self.root / "anvil-state.json"
        self.anvil: AnvilProcess | None = None
        self.node_lock = threading.Lock()
        self.anvil_url = ""
        self.web3: Web3 | None = None
        self.deployment: UniswapV2DeploymentFile | None = None
        self.proxy: RpcProxy | None = None
        self.strategy = self.root / "chaos_strategy.py"
        self.deployment_file = self.root / "devchain.json"
        self.wallets = 0

    # node ---------------------------------------------------------------------------------------

    def _start_anvil(self) -> None:
        self.anvil = AnvilProcess(
            port=self.port, chain_id=ANVIL_CHAIN_ID, extra_args=("--state", str(self.dump))
        )
        self.anvil_url = self.anvil.start()

    def start(self) -> Lane:
        self._start_anvil()
        self.web3 = Web3(HTTPProvider(self.anvil_url, request_kwargs={"timeout": 60}))
        deployer_wallet = Account.create()
        self.deployment = deploy_devchain(self.web3, self.anvil_url, deployer_wallet.address)
        self.proxy = RpcProxy(self.anvil_url)
        self.deployment.write(self.deployment_file)
        self.strategy.write_text(STRATEGY)
        return self

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        if self.anvil is not None:
            self.anvil.stop()

    def stop_node(self) -> None:
        """The node process dies (its chain is dumped; its mempool is not)."""
        with self.node_lock:
            if self.anvil is not None:
                self.anvil.stop()

    def start_node(self) -> None:
        with self.node_lock:
            self._start_anvil()

    def other_node(self, *extra: str, chain_id: int = ANVIL_CHAIN_ID) -> AnvilProcess:
        """Another anvil node (a fork of this lane's chain with `--fork-url`, another chain, ...) to
        put behind the proxy; the caller stops it."""
        node = AnvilProcess(chain_id=chain_id, extra_args=extra)
        node.start()
        return node

    def rpc(self, method: str, params: list[Any]) -> Any:
        assert self.web3 is not None
        return self.web3.provider.make_request(method, params).get("result")  # type: ignore[arg-type]

    # wallets ------------------------------------------------------------------------------------

    def new_wallet(self) -> tuple[LocalAccount, Path]:
        """A funded hot wallet (10 ETH, 1,000 USDC) and an empty directory for its state."""
        assert self.web3 is not None and self.deployment is not None
        self.wallets += 1
        account: LocalAccount = Account.create()
        web3 = self.web3
        self.rpc("anvil_setBalance", [account.address, hex(10 * 10**18)])
        usdc = self.deployment.token("USDC")
        token = web3.eth.contract(
            address=usdc.address, abi=[*abi(ERC20), *abi(("function mint(address to, uint256 amount)",))]
        )
        tx = token.functions.mint(account.address, 1_000 * 10**6).transact({"from": web3.eth.accounts[0]})
        web3.eth.wait_for_transaction_receipt(tx)
        workdir = self.root / f"wallet-{self.wallets}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir()
        return account, workdir

    def spawn(
        self,
        wallet: LocalAccount,
        workdir: Path,
        crash_at: str | None = None,
        *,
        strategy: str | None = None,
        args: tuple[str, ...] = (),
        note: str = "",
    ) -> Executor:
        """`trade-executor start` for this wallet through the proxy (`strategy`: another module's source)."""
        assert self.proxy is not None
        strategy_file = self.strategy
        if strategy is not None:
            strategy_file = workdir / "strategy.py"
            strategy_file.write_text(strategy)
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "TRADE_EXECUTOR_CRASH_AT")
        }
        env.update(
            PRIVATE_KEY=wallet.key.to_0x_hex(),
            JSON_RPC_ANVIL=self.proxy.url,
            HEARTBEAT="none",
            PYTHONPYCACHEPREFIX=str(self.pycache),  # compiled once, not at every restart
            PYTHONUNBUFFERED="1",
        )
        if crash_at:
            env["TRADE_EXECUTOR_CRASH_AT"] = crash_at
        cmd = [
            sys.executable,
            "-c",
            "from tradeexecutor.cli.main import run; run()",
            "start",
            "--execution-type",
            "uniswap_v2_hot_wallet",
            "--strategy-file",
            str(strategy_file),
            "--deployment-file",
            str(self.deployment_file),
            "--state-file",
            str(workdir / "state.json"),
            "--cache-path",
            str(workdir / "cache"),
            "--trade-immediately",
            "--stop-loss-check-frequency",
            f"{STOP_LOSS_CHECK_SECONDS:g}s",
            "--confirmation-timeout",
            "120",
            "--http-port",
            str(port),
            "--file-log-level",
            "none",
            *args,
        ]
        log = workdir / "executor.log"
        with open(log, "ab") as out:
            out.write(f"\n===== start {time.strftime('%H:%M:%S')} {note} crash_at={crash_at}\n".encode())
            out.flush()
            proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
        return Executor(proc, port, log)

    # the market ---------------------------------------------------------------------------------

    def move_price(self, symbol: str, factor: float) -> None:
        """Another trader swaps on the pool so the price of `symbol` in USDC moves by about `factor`."""
        assert self.web3 is not None and self.deployment is not None
        web3, d = self.web3, self.deployment
        trader = web3.eth.accounts[0]
        token, usdc = d.token(symbol), d.token("USDC")
        pair = d.pair(symbol, "USDC")
        reserves = (
            web3.eth.contract(
                address=pair.address,
                abi=abi(("function getReserves() view returns (uint112, uint112, uint32)",)),
            )
            .functions.getReserves()
            .call()
        )
        base_reserve = reserves[0] if pair.token0.lower() == token.address.lower() else reserves[1]
        # constant product: the price moves by (x / x')^2, so x' = x / sqrt(factor)
        if factor < 1:
            sell_in, buy_out = token, usdc
            amount = int(base_reserve * (1 / factor**0.5 - 1))
        else:
            sell_in, buy_out = usdc, token
            quote_reserve = reserves[1] if pair.token0.lower() == token.address.lower() else reserves[0]
            amount = int(quote_reserve * (factor**0.5 - 1))
        contract = web3.eth.contract(
            address=sell_in.address,
            abi=[
                *abi(WETH if sell_in.symbol == "WETH" else ERC20),
                *abi(("function mint(address to, uint256 amount)",)),
            ],
        )
        if sell_in.symbol == "WETH":
            self.rpc("anvil_setBalance", [trader, hex(10**30)])
            web3.eth.wait_for_transaction_receipt(
                contract.functions.deposit().transact({"from": trader, "value": amount})
            )
        else:
            web3.eth.wait_for_transaction_receipt(
                contract.functions.mint(trader, amount).transact({"from": trader})
            )
        web3.eth.wait_for_transaction_receipt(
            contract.functions.approve(d.router, amount).transact({"from": trader})
        )
        router = web3.eth.contract(address=d.router, abi=abi(UNISWAP_V2_ROUTER))
        web3.eth.wait_for_transaction_receipt(
            router.functions.swapExactTokensForTokens(
                amount, 0, [sell_in.address, buy_out.address], trader, 2**63
            ).transact({"from": trader, "gas": 300_000})
        )

    # verification -------------------------------------------------------------------------------

    def wallet_transactions(self, wallet: str, from_block: int) -> list[dict[str, Any]]:
        assert self.web3 is not None
        out = []
        latest = self.web3.eth.block_number
        for n in range(from_block, latest + 1):
            block = self.rpc("eth_getBlockByNumber", [hex(n), True])
            for tx in block["transactions"]:
                if tx["from"].lower() == wallet.lower():
                    out.append(tx)
        return out

    def verify(self, wallet: str, state_file: Path, from_block: int) -> Verification:
        """Compare the wallet's swaps on chain with the state, trade by trade (see the module docstring)."""
        from tradeexecutor.ethereum.erc20 import balance_of
        from tradeexecutor.state.store import JSONFileStore
        from tradeexecutor.state.trade import TradeStatus

        assert self.web3 is not None and self.deployment is not None
        v = Verification()
        web3, d = self.web3, self.deployment
        symbols = {t.address.lower(): s for s, t in d.tokens.items()}
        symbols[d.weth.lower()] = "WETH"
        chain_swaps: dict[str, tuple[str, str, int, int]] = {}  # hash -> (pair, side, base raw, usdc raw)
        sequence: dict[str, list[str]] = {}
        for tx in self.wallet_transactions(wallet, from_block):
            if tx["to"] is None or tx["to"].lower() != d.router.lower():
                continue
            receipt = web3.eth.get_transaction_receipt(tx["hash"])
            if receipt["status"] != 1:
                continue
            sent: dict[str, int] = {}
            received: dict[str, int] = {}
            for log in receipt["logs"]:
                if not log["topics"] or log["topics"][0].to_0x_hex() != TRANSFER_TOPIC:
                    continue
                token = symbols.get(log["address"].lower())
                src = "0x" + log["topics"][1].hex()[-40:]
                dst = "0x" + log["topics"][2].hex()[-40:]
                amount = int.from_bytes(bytes(log["data"]), "big")
                if token is None:
                    continue
                if src.lower() == wallet.lower():
                    sent[token] = sent.get(token, 0) + amount
                if dst.lower() == wallet.lower():
                    received[token] = received.get(token, 0) + amount
            if "USDC" in sent and received:
                base = next(iter(received))
                side, base_raw, usdc_raw = "buy", received[base], sent["USDC"]
            elif "USDC" in received and sent:
                base = next(iter(sent))
                side, base_raw, usdc_raw = "sell", sent[base], received["USDC"]
            else:
                v.problems.append(f"swap {tx['hash'].to_0x_hex()} moved {sent} -> {received}")
                continue
            ticker = f"{base}-USDC"
            chain_swaps[tx["hash"].lower()] = (ticker, side, base_raw, usdc_raw)
            sequence.setdefault(ticker, []).append(side)
        v.swaps_on_chain = len(chain_swaps)
        for ticker, sides in sequence.items():
            for a, b in zip(sides, sides[1:], strict=False):
                if a == b:
                    v.duplicated += 1
                    v.problems.append(f"{ticker}: two {a}s in a row on chain")

        with JSONFileStore(state_file, read_only=True) as store:
            state = store.load()
        booked: dict[str, Any] = {}
        for trade in state.portfolio.all_trades():
            if trade.status in (TradeStatus.planned, TradeStatus.started, TradeStatus.broadcast):
                v.lost += 1
                v.problems.append(f"trade #{trade.trade_id} is still {trade.status} at the end")
                continue
            if trade.status != TradeStatus.success:
                continue
            mined = [
                tx
                for tx in trade.blockchain_transactions
                if tx.function == SWAP_FUNCTION and tx.status == "success"
            ]
            if len(mined) != 1:
                v.lost += 1
                v.problems.append(f"trade #{trade.trade_id} is booked executed with {len(mined)} mined swaps")
                continue
            h = mined[0].tx_hash.lower()
            if h in booked:
                v.duplicated += 1
                v.problems.append(f"swap {h} is booked by trades #{booked[h].trade_id} and #{trade.trade_id}")
                continue
            booked[h] = trade
        v.trades_booked = len(booked)
        for h, (ticker, side, base_raw, usdc_raw) in chain_swaps.items():
            trade = booked.get(h)
            if trade is None:
                v.lost += 1
                v.problems.append(f"{side} of {ticker} {h} is on chain but no trade books it")
                continue
            expected = (
                trade.pair.ticker,
                "buy" if trade.is_buy else "sell",
                abs(trade.executed_quantity_raw),
                trade.executed_reserve_raw,
            )
            if expected != (ticker, side, base_raw, usdc_raw):
                v.lost += 1
                v.problems.append(
                    f"trade #{trade.trade_id} books {expected}, the chain says {(ticker, side, base_raw, usdc_raw)}"
                )
        for h, trade in booked.items():
            if h not in chain_swaps:
                v.lost += 1
                v.problems.append(
                    f"trade #{trade.trade_id} is booked with swap {h}, which is not a swap on chain"
                )
        # the books against the wallet's balances
        reserve = state.portfolio.reserve_holding()
        if reserve.quantity_raw != balance_of(web3, reserve.asset, wallet):
            v.lost += 1
            v.problems.append(
                f"reserve: state {reserve.quantity_raw}, chain {balance_of(web3, reserve.asset, wallet)}"
            )
        held = state.portfolio.held_balances_raw()
        for key, raw in held.items():
            asset = next(
                (p.pair.base for p in state.portfolio.open_positions.values() if p.pair.base.key == key), None
            )
            if asset is not None and raw != balance_of(web3, asset, wallet):
                v.lost += 1
                v.problems.append(f"{asset.symbol}: state {raw}, chain {balance_of(web3, asset, wallet)}")
        gas = state.portfolio.gas_holding()
        if gas.quantity_raw != web3.eth.get_balance(web3.to_checksum_address(wallet)):
            v.lost += 1
            v.problems.append(
                f"gas: state {gas.quantity_raw}, chain {web3.eth.get_balance(web3.to_checksum_address(wallet))}"
            )
        return v


# --- scenarios ----------------------------------------------------------------------------------


def _settle_and_stop(executor: Executor, since_cycle: int, timeout: float) -> tuple[bool, str]:
    """Wait for a cycle after `since_cycle` and no unfinished trade; then SIGTERM. (ok, why not)"""

    def settled() -> bool:
        s = executor.status()
        if not s or (s.get("completed_cycle") or 0) <= since_cycle:
            return False
        return executor.unfinished_trades() == []

    ok = bool(wait_until(settled, timeout, poll=0.5))
    status = executor.status() or {}
    why = "" if ok else f"not settled: {status.get('trading_state')}: {status.get('state_reason')}"
    code = executor.stop()
    if code not in (0, None):
        why = (why + f"; exit code {code}").strip("; ")
    return ok, why


def _seconds_to_next_cycle() -> float:
    return CYCLE_SECONDS - time.time() % CYCLE_SECONDS


KillPoint = str | float | tuple[str, float]
"""A seam (`swap.recorded`), seconds after spawn (start-up), or ("webhook", seconds) after the
webhook answers (connect, recovery, sync, the cycle, a save)."""


def run_kill_chain(
    lane: Lane, name: str, points: Iterable[KillPoint], settle_first: int = 0
) -> ScenarioResult:
    """Kill a fresh wallet's executor at each point in turn, restarting it each time; then let a
    clean run finish its cycle and verify.

    `settle_first` cycles are run cleanly first (so the seams of a later cycle's sells are reached)."""
    started = time.monotonic()
    result = ScenarioResult(name=name, kind="kill")
    wallet, workdir = lane.new_wallet()
    from_block = lane.web3.eth.block_number  # type: ignore[union-attr]
    for _ in range(settle_first):
        ex = lane.spawn(wallet, workdir, note=name)
        ok, why = _settle_and_stop(ex, 0, CYCLE_SECONDS * 2 + 60)
        if not ok:
            result.notes.append(f"clean run before the kills: {why}")
    for point in points:
        if isinstance(point, str):
            ex = lane.spawn(wallet, workdir, crash_at=point, note=name)
            # a seam of the next cycle may be a minute away
            wait_until(lambda ex=ex: not ex.alive(), _seconds_to_next_cycle() + 90, poll=0.1)
            if ex.alive():
                result.notes.append(f"{point}: not reached")
                ex.stop()
            elif ex.proc.returncode == -signal.SIGKILL:
                result.kills += 1
                result.kill_points.append(point)
            else:
                result.notes.append(f"{point}: exited {ex.proc.returncode}: {ex.tail(2)}")
        else:
            ex = lane.spawn(wallet, workdir, note=name)
            after_webhook = isinstance(point, tuple)
            delay = point[1] if isinstance(point, tuple) else point
            if after_webhook:  # a moment of connect, recovery, sync, the cycle or a save
                wait_until(lambda ex=ex: not ex.alive() or ex.get("/ping"), 120, poll=0.05)
            time.sleep(delay)
            label = f"+{delay:.1f}s" + (" after the webhook" if after_webhook else " after spawn")
            if ex.alive():
                phase = ex.phase()
                ex.kill()
                result.kills += 1
                result.kill_points.append(f"{phase} {label}")
            else:
                result.notes.append(f"{label}: exited {ex.proc.returncode} before the kill: {ex.tail(2)}")
    final = lane.spawn(wallet, workdir, note=name)
    ok, why = _settle_and_stop(final, 0, _seconds_to_next_cycle() + 120)
    if not ok:
        result.permanent_halt = True
        result.notes.append(why)
    result.verification = lane.verify(wallet.address, workdir / "state.json", from_block)
    result.seconds = time.monotonic() - started
    return result


def _trigger(phase: str) -> Callable[[Any], bool]:
    """The proxy predicate that marks the start of `phase` in the executor's traffic."""
    if phase == "universe build":
        return lambda p: "eth_getLogs" in methods_of(p)
    if phase == "reserve sync":
        return lambda p: sorted(methods_of(p)) == ["eth_call", "eth_getBalance"]
    if phase == "broadcast":
        return lambda p: "eth_sendRawTransaction" in methods_of(p)
    if phase == "confirmation":
        return lambda p: "eth_getTransactionReceipt" in methods_of(p)
    return lambda p: True  # trigger check: the next request of any kind (armed between cycles)


def run_outage(lane: Lane, mode: str, phase: str, down: float) -> ScenarioResult:
    """One transient fault (`mode`) while the executor is in `phase`; the node returns after `down` seconds."""
    assert lane.proxy is not None
    started = time.monotonic()
    result = ScenarioResult(name=f"{mode} during {phase}", kind="outage")
    wallet, workdir = lane.new_wallet()
    from_block = lane.web3.eth.block_number  # type: ignore[union-attr]
    proxy = lane.proxy
    fault_started = threading.Event()
    healed: list[float] = []
    crash_block: list[int] = []  # the block of the price crash: the stop-loss sell comes after it

    def heal() -> None:
        """Called from the lane's own thread: a node started from a short-lived thread would be
        killed with it (anvil runs with the parent-death signal, which follows the thread)."""
        try:
            if mode == RESTART:
                lane.start_node()
            else:
                proxy.heal()
        except Exception as e:  # shown in the table: the harness, not the executor, failed here
            result.notes.append(f"the node did not come back: {e}")
            return
        healed.append(time.monotonic())

    def begin(payload: Any = None) -> None:
        if fault_started.is_set():
            return
        fault_started.set()
        if phase == "trigger check":
            lane.move_price("WETH", 0.6)  # through the stop, while the node goes away
            crash_block.append(lane.web3.eth.block_number)  # type: ignore[union-attr]
        if mode == RESTART:
            lane.stop_node()
        else:
            proxy.slow_seconds = 5.0
            proxy.set_mode(mode)

    if mode == RESTART and phase == "confirmation":
        # the transaction sits in the mempool when the node restarts, and is lost with it
        proxy.arm(
            lambda p: "eth_sendRawTransaction" in methods_of(p),
            lambda p: lane.rpc("evm_setAutomine", [False]),
        )
    ex = None
    try:
        if phase not in ("trigger check", "save"):
            proxy.arm(_trigger(phase), begin)
        ex = lane.spawn(wallet, workdir, note=result.name)
        if phase == "save":
            state_file = workdir / "state.json"
            wait_until(state_file.exists, 120, poll=0.05)
            first = state_file.stat().st_mtime_ns
            wait_until(lambda: state_file.stat().st_mtime_ns != first, 120, poll=0.005)
            begin()
        if phase == "trigger check":
            # positions with stop losses (an odd cycle) first, then the fault between two cycles
            wait_until(lambda: _between_cycles_with_positions(ex), 240, poll=0.1)
            proxy.arm(_trigger(phase), begin)
        if not wait_until(fault_started.is_set, 180, poll=0.02):
            result.notes.append("the phase was never reached")
        else:
            time.sleep(down)
            heal()
        with contextlib.suppress(Exception):
            lane.rpc("evm_setAutomine", [True])
        proxy.disarm()
        back = healed[0] if healed else time.monotonic()
        cycles_at_heal = (ex.status() or {}).get("completed_cycle") or 0
        seen: dict[str, float] = {}

        def recovered() -> bool:
            s = ex.status() or {}
            if s.get("trading_state") == "halted":
                return False
            if "cycle" not in seen and (s.get("completed_cycle") or 0) > cycles_at_heal:
                seen["cycle"] = time.monotonic()
            return "cycle" in seen

        stop_sold: list[float] = []
        if phase == "trigger check":
            wait_until(
                lambda: (
                    _stop_loss_sold(lane, wallet.address, crash_block[0] if crash_block else from_block)
                    and stop_sold.append(time.monotonic()) is None
                ),
                STOP_LOSS_CHECK_SECONDS + 40,
                poll=0.2,
            )
            if stop_sold:
                result.stop_delay_s = max(0.0, stop_sold[0] - back)
                result.late_stop = result.stop_delay_s > STOP_LOSS_CHECK_SECONDS + 10
            else:
                result.late_stop = True
                result.notes.append("the crossed stop was never acted on")
        if wait_until(recovered, CYCLE_SECONDS * 2 + 30, poll=0.2):
            result.recovery_s = seen["cycle"] - back
        else:
            status = ex.status() or {}
            result.permanent_halt = True
            result.notes.append(
                f"no cycle after the node returned: {status.get('trading_state')}: {status.get('state_reason')}"
            )
        ok, why = _settle_and_stop(ex, cycles_at_heal, CYCLE_SECONDS * 2 + 30)
        if not ok and not result.permanent_halt:
            result.notes.append(why)
        if phase == "trigger check":
            lane.move_price("WETH", 1 / 0.6)  # restore the market for the next scenario
            if stop_sold and not _closed_by_stop_loss(workdir / "state.json", "WETH-USDC"):
                result.late_stop = True
                result.notes.append("WETH was sold by a cycle, not by the stop-loss check")
    finally:
        proxy.disarm()
        proxy.heal()
        if ex is not None and ex.alive():
            ex.kill()
        if mode == RESTART and not (lane.anvil and lane.anvil.is_running()):
            lane.start_node()
    result.verification = lane.verify(wallet.address, workdir / "state.json", from_block)
    result.seconds = time.monotonic() - started
    return result


def _between_cycles_with_positions(ex: Executor) -> bool:
    """An odd (buying) cycle completed in this minute, and the next one is at least 20 s away."""
    second = time.time() % CYCLE_SECONDS
    if not 5 <= second <= 35:
        return False
    status = ex.status() or {}
    cycle, last = status.get("completed_cycle"), status.get("last_cycle_at")
    return bool(cycle) and cycle % 2 == 1 and last is not None and time.time() - last < second


def _closed_by_stop_loss(state_file: Path, ticker: str) -> bool:
    from tradeexecutor.state.store import JSONFileStore

    with JSONFileStore(state_file, read_only=True) as store:
        state = store.load()
    return any(
        t.trade_type.value == "stop_loss" and t.status == "success" and t.pair.ticker == ticker
        for t in state.portfolio.all_trades()
    )


def _stop_loss_sold(lane: Lane, wallet: str, from_block: int) -> bool:
    """The wallet has sold WETH on chain (the stop loss acted)."""
    assert lane.deployment is not None and lane.web3 is not None
    weth = lane.deployment.weth.lower()
    for tx in lane.wallet_transactions(wallet, from_block):
        if tx["to"] is None or tx["to"].lower() != lane.deployment.router.lower():
            continue
        receipt = lane.web3.eth.get_transaction_receipt(tx["hash"])
        if receipt["status"] != 1:
            continue
        for log in receipt["logs"]:
            topics = log["topics"]
            if (
                log["address"].lower() == weth
                and topics[0].to_0x_hex() == TRANSFER_TOPIC
                and ("0x" + topics[1].hex()[-40:]).lower() == wallet.lower()
            ):
                return True
    return False


# --- the whole run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaosPlan:
    lanes: int = 3
    kill_points: int = 50
    modes: tuple[str, ...] = OUTAGE_MODES
    phases: tuple[str, ...] = PHASES
    outage_seconds: float = 12.0
    seed: int = 1

    def kill_chains(self) -> list[tuple[str, list[KillPoint], int]]:
        """(name, points, clean cycles first): every seam of cycle 1's buys, of cycle 2's sells,
        then random moments, until `kill_points` kills are planned: a quarter in start-up (before
        the webhook answers), the rest in the first seconds after it (connect, recovery, sync,
        universe, decide, execute, save)."""
        rng = random.Random(self.seed)
        chains: list[tuple[str, list[KillPoint], int]] = []
        budget = self.kill_points
        for name, settle in (("seams of the buys", 0), ("seams of the sells", 1)):
            if budget <= 0:
                break
            points: list[KillPoint] = list((SEAMS * 2)[: min(budget, 2 * len(SEAMS))])
            chains.append((name, points, settle))
            budget -= len(points)
        while budget > 0:
            n = min(budget, 8)
            moments: list[KillPoint] = [
                round(rng.uniform(0.5, 3.0), 1)
                if i % 4 == 0
                else ("webhook", round(rng.uniform(0.0, 4.0), 2))
                for i in range(n)
            ]
            chains.append(("random moments", moments, len(chains) % 2))
            budget -= n
        return chains

    def outages(self) -> list[tuple[str, str]]:
        return [(m, p) for p in self.phases for m in self.modes]


def run_chaos(
    plan: ChaosPlan,
    workdir: Path | None = None,
    progress: Callable[[ScenarioResult], None] | None = None,
) -> ChaosReport:
    """Run every kill chain and outage scenario of `plan` over `plan.lanes` parallel lanes."""
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="chaos-")) if workdir is None else workdir
    pycache = Path(tempfile.gettempdir()) / "trade-executor-chaos-pycache"
    work: queue.Queue[Callable[[Lane], ScenarioResult]] = queue.Queue()
    for name, points, settle in plan.kill_chains():
        work.put(lambda lane, n=name, p=points, s=settle: run_kill_chain(lane, n, p, s))
    for mode, phase in plan.outages():
        work.put(lambda lane, m=mode, ph=phase: run_outage(lane, m, ph, plan.outage_seconds))
    report = ChaosReport()
    lock = threading.Lock()

    def worker(index: int) -> None:
        lane = Lane(index, root, pycache).start()
        try:
            while True:
                try:
                    job = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = job(lane)
                except Exception as e:  # a harness failure is reported, not hidden
                    result = ScenarioResult(name=f"harness error: {e!r}"[:200], kind="error")
                    result.permanent_halt = True
                with lock:
                    report.results.append(result)
                if progress is not None:
                    progress(result)
        finally:
            lane.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(plan.lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.seconds = time.monotonic() - started
    if workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return report


def _kill_summary(result: ScenarioResult) -> list[str]:
    counts: dict[str, int] = {}
    for point in result.kill_points:
        name = point.split(" +")[0]
        counts[name] = counts.get(name, 0) + 1
    return [", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items())] if counts else []


def format_table(report: ChaosReport) -> str:
    rows = [("scenario", "kills", "swaps", "lost", "dup", "halt", "recovery s", "stop s", "notes")]
    for r in sorted(report.results, key=lambda r: (r.kind, r.name)):
        v = r.verification
        rows.append(
            (
                r.name,
                str(r.kills) if r.kind == "kill" else "",
                str(v.swaps_on_chain),
                str(v.lost),
                str(v.duplicated),
                "yes" if r.permanent_halt else "",
                f"{r.recovery_s:.1f}" if r.recovery_s is not None else "",
                f"{r.stop_delay_s:.1f}" if r.stop_delay_s is not None else "",
                "; ".join([*r.notes, *v.problems, *_kill_summary(r)])[:160],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    s = report.summary()
    lines.append("")
    lines.append(
        f"kill points {s['kill_points']}, outage scenarios {s['outage_scenarios']}, lost {s['lost']}, "
        f"duplicated {s['duplicated']}, permanent halts {s['permanent_halts']}, max recovery "
        f"{s['max_recovery_s']} s (target <= {CYCLE_SECONDS:.0f} s), late stops {s['late_stops']} "
        f"(target: within {STOP_LOSS_CHECK_SECONDS:.0f} + 10 s), {s['swaps_verified']} swaps verified on chain "
        f"in {s['seconds']} s"
    )
    return "\n".join(lines)
