"""The devchain: anvil lifecycle, the Uniswap v2 deployment, and a real router swap."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.devchain.tooling import uniswap_artifact
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_FACTORY, UNISWAP_V2_PAIR, UNISWAP_V2_ROUTER, abi
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile

UNISWAP_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); look at its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _anvil_pids(parent: int | None = None) -> set[int]:
    """anvil processes, optionally only the children of `parent` (other test runs may have their own)."""
    args = ["pgrep", "-x", "anvil"] + (["-P", str(parent)] if parent else [])
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def test_deployment_prices_and_funding(devchain) -> None:
    d = devchain.deployment
    web3 = devchain.web3
    assert d.chain_id == 31337
    assert d.init_code_hash == UNISWAP_INIT_CODE_HASH
    assert d.token("USDC").decimals == 6 and d.token("DEV").decimals == 18
    pair_info = d.pair("WETH", "USDC")
    pair = web3.eth.contract(address=pair_info.address, abi=abi(UNISWAP_V2_PAIR))
    r0, r1, _ = pair.functions.getReserves().call()
    reserves = {pair_info.token0: r0, pair_info.token1: r1}
    weth = Decimal(reserves[d.token("WETH").address]) / 10**18
    usdc = Decimal(reserves[d.token("USDC").address]) / 10**6
    assert usdc / weth == Decimal(2000)
    # accumulators were seeded, so later gas estimates only miss the cheap update
    assert pair.functions.price0CumulativeLast().call() > 0
    usdc_token = web3.eth.contract(address=d.token("USDC").address, abi=abi(ERC20))
    assert usdc_token.functions.balanceOf(d.hot_wallet).call() == 10_000 * 10**6
    assert web3.eth.get_balance(d.hot_wallet) == 100 * 10**18


def test_router_swap_from_hot_wallet(eth) -> None:
    """The devchain's pools trade through the product's own swap pipeline at the seeded price."""
    pair = eth.pairs["WETH-USDC"]
    plan = eth.routing.plan_buy(pair, 100 * 10**6, eth.wallet.address)
    outcome = eth.executor.execute(plan, on_signed=eth.recorded.append).raise_for_status()
    assert outcome.reserve_amount == 100 * 10**6
    price = Decimal(outcome.reserve_amount) / 10**6 / (Decimal(outcome.base_amount) / 10**18)
    assert Decimal(2000) < price < Decimal(2010), price  # 0.3 % LP fee plus a little price impact
    assert 80_000 < outcome.gas_used < 250_000, (
        outcome.gas_used
    )  # the swap, plus its approval if one was needed


def test_deployment_file_round_trip(devchain, tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    devchain.deployment.write(path)
    assert UniswapV2DeploymentFile.read(path) == devchain.deployment


def test_deployment_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="devchain up"):
        UniswapV2DeploymentFile.read(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        UniswapV2DeploymentFile.read(bad)


@pytest.mark.parametrize(
    ("fragments", "package", "name"),
    [
        (ERC20, "v2-core", "ERC20"),
        (UNISWAP_V2_PAIR, "v2-core", "UniswapV2Pair"),
        (UNISWAP_V2_FACTORY, "v2-core", "UniswapV2Factory"),
        (UNISWAP_V2_ROUTER, "v2-periphery", "UniswapV2Router02"),
    ],
)
def test_minimal_abis_match_npm_artifacts(fragments, package, name) -> None:
    def signatures(entries):
        return {
            (e["type"], e["name"], tuple(i["type"] for i in e["inputs"]))
            for e in entries
            if e["type"] in ("function", "event")
        }

    ours = signatures(abi(fragments))
    theirs = signatures(uniswap_artifact(package, name)["abi"])
    if name == "ERC20":  # the core ERC20 has no decimals-free variant; compare what it has
        ours = {s for s in ours if s in theirs or s[1] not in {x[1] for x in theirs}}
        theirs_names = {x[1] for x in theirs}
        ours = {s for s in ours if s[1] in theirs_names}
    assert ours <= theirs, ours - theirs


def test_missing_anvil_binary_is_one_clear_sentence(monkeypatch) -> None:
    monkeypatch.setenv("ANVIL_BINARY", "/nonexistent/anvil")
    with pytest.raises(UserError, match="ANVIL_BINARY points to /nonexistent/anvil"):
        AnvilProcess().start()


def test_missing_npm_packages_name_the_fix(monkeypatch, tmp_path: Path) -> None:
    from tradeexecutor.devchain import tooling

    monkeypatch.delenv("ANVIL_BINARY", raising=False)
    monkeypatch.setattr(tooling, "node_modules_candidates", lambda: [tmp_path])
    monkeypatch.setattr(tooling.shutil, "which", lambda name: None)
    tooling.uniswap_artifact.cache_clear()
    try:
        with pytest.raises(UserError, match=r"npm ci"):
            tooling.find_anvil()
        with pytest.raises(UserError, match=r"@uniswap/v2-core.*npm ci"):
            tooling.uniswap_artifact("v2-core", "UniswapV2Factory")
    finally:
        tooling.uniswap_artifact.cache_clear()


def test_port_in_use_is_one_clear_sentence() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"Port {port} .* already in use"):
            AnvilProcess(port=port).start()


def test_stop_terminates_by_pid() -> None:
    node = AnvilProcess()
    node.start()
    pid = node.pid
    assert pid and _alive(pid)
    node.stop()
    assert not _alive(pid)


def _start_devchain_up(tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tradeexecutor.cli.main import run; run()",
            "devchain",
            "up",
            "--deployment-file",
            str(tmp_path / "dep.json"),
            "--devchain-env-file",
            str(tmp_path / "w.env"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C as at a terminal: a suite started in the background (`make test &`, some CI
        # runners) inherits SIGINT ignored, and Python then keeps ignoring it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed; got: {''.join(seen)}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_devchain_up_leaves_no_anvil_behind(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _start_devchain_up(tmp_path)
    try:
        out = _wait_for_line(proc, "Press Ctrl-C")
        ours = _anvil_pids(parent=proc.pid)
        assert len(ours) == 1, out
        dep = UniswapV2DeploymentFile.read(tmp_path / "dep.json")
        assert dep.hot_wallet and len(dep.pairs) == 3
        wallet_env = tmp_path / "w.env"
        assert oct(wallet_env.stat().st_mode & 0o777) == "0o600"
        assert "PRIVATE_KEY=0x" in wallet_env.read_text()
        proc.send_signal(sig)
        code = proc.wait(15)
        if sig != signal.SIGKILL:
            assert code == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in ours) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in ours), f"anvil orphaned after {sig.name}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start_demo(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """`trade-executor demo` in tmp_path on a free webhook port; (process, port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = [sys.executable, "-c", "from tradeexecutor.cli.main import run; run()", "demo"]
    proc = subprocess.Popen(
        [*cli, "--http-port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    return proc, port


def test_demo_trades_live_and_exits_cleanly(tmp_path: Path) -> None:
    proc, port = _start_demo(tmp_path, "--max-cycles", "1")
    children: set[int] = set()
    while proc.poll() is None:  # remember the demo's anvil so we can check it is gone afterwards
        children |= _anvil_pids(parent=proc.pid)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/status" in stdout
    assert "Demo stopped" in stdout
    assert "Cycle 1 for" in stderr
    assert children, "the demo never started anvil"
    time.sleep(0.2)
    assert not {p for p in children if _alive(p)}
    from tradeexecutor.state.store import JSONFileStore

    with JSONFileStore(tmp_path / "state/demo/demo.json", read_only=True) as store:
        assert store.load().cycle.completed_count == 1


def test_demo_stops_cleanly_on_ctrl_c_after_trading(tmp_path: Path) -> None:
    """What a user does with the README's first command: watch a cycle, then press Ctrl-C."""
    import json
    import urllib.request

    proc, port = _start_demo(tmp_path)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 150
        completed = 0
        while completed < 1 and time.monotonic() < deadline and proc.poll() is None:
            children |= _anvil_pids(parent=proc.pid)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as r:
                    completed = json.loads(r.read()).get("completed_cycle") or 0
            except OSError:
                pass
            time.sleep(0.2)
        assert completed >= 1, "the demo never completed a cycle"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Demo stopped" in stdout
    assert "Traceback" not in stderr
    assert children, "the demo never started anvil"
    time.sleep(0.2)
    assert not {p for p in children if _alive(p)}, "anvil orphaned after Ctrl-C"
    from tradeexecutor.state.store import JSONFileStore

    with JSONFileStore(tmp_path / "state/demo/demo.json", read_only=True) as store:
        state = store.load()  # complete and valid after the interrupt
    assert state.cycle.completed_count >= 1
