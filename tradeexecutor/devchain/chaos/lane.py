"""One lane of the chaos run: an anvil node that can be restarted, Uniswap v2 on it, the fault
proxy in front of it, and `trade-executor start` processes trading from fresh wallets."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.devchain.chain import ANVIL_CHAIN_ID
from tradeexecutor.devchain.deploy import deploy_devchain
from tradeexecutor.devchain.rpc_proxy import RpcProxy
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, WETH, abi
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile

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
