"""`devchain up --devchain-market-minutes`: the chain the Docker demo's executor trades on."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from web3 import HTTPProvider, Web3

from tradeexecutor.config.envfile import parse_env_file
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile


def test_market_history_exists_before_the_files_and_stale_files_are_removed(tmp_path: Path) -> None:
    deployment_file, env_file = tmp_path / "dep.json", tmp_path / "w.env"
    env_file.write_text("PRIVATE_KEY=stale\n")  # a previous run's file must not be mistaken for this one's
    deployment_file.write_text("{}")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tradeexecutor.cli.main import run; run()", "devchain", "up",
         f"--deployment-file={deployment_file}", f"--devchain-env-file={env_file}",
         "--devchain-market-minutes=3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        seen_removed = False
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            if not env_file.exists():
                seen_removed = True  # removed at start, while the chain is deployed and filled
            elif seen_removed and "PRIVATE_KEY=0x" in env_file.read_text():
                break
            time.sleep(0.05)
        assert seen_removed and deployment_file.read_text() != "{}"
        env = {e.name: e.value for e in parse_env_file(env_file)}
        assert env["PRIVATE_KEY"].startswith("0x")
        deployment = UniswapV2DeploymentFile.read(deployment_file)
        web3 = Web3(HTTPProvider(env["JSON_RPC_ANVIL"]))
        # when the files appear, three minutes of trading are already on the chain
        latest = web3.eth.get_block("latest")
        assert latest["number"] > 10
        assert time.time() - web3.eth.get_block(1)["timestamp"] >= 3 * 60
        reserves_before = web3.eth.call({"to": deployment.pair("WETH", "USDC").address, "data": "0x0902f1ac"})
        time.sleep(7)  # the simulated trader keeps moving the price
        reserves_after = web3.eth.call({"to": deployment.pair("WETH", "USDC").address, "data": "0x0902f1ac"})
        assert reserves_after != reserves_before
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
