"""An executor process for the crash tests: recover on start, then run two fixed cycles.

Environment: JSON_RPC_ANVIL, PRIVATE_KEY, DEPLOYMENT_FILE, STATE_FILE and optionally
TRADE_EXECUTOR_CRASH_AT (see tradeexecutor/execution/live/crash.py). The decisions depend
only on the state, so a restarted run decides exactly what is still missing:

    cycle 1: hold 100 USDC of WETH (WETH-USDC) and 50 USDC of DEV (DEV-WETH, through WETH)
    cycle 2: sell all WETH, hold 30 USDC of DEV (DEV-USDC)
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.live.state_file import load_state, save_state
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.settings import ExecutionSettings
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile
from tradeexecutor.ethereum.uniswap_v2.deployments import (
    UniswapV2Deployment,
    assets_from_file,
    pairs_from_file,
)
from tradeexecutor.ethereum.wallet import HotWallet
from tradeexecutor.execution.live.stack import build_live_models
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.state import State
from tradeexecutor.strategy.position_manager import PositionManager

CYCLES = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, tzinfo=UTC))


def main() -> int:
    deployment_file = UniswapV2DeploymentFile.read(Path(os.environ["DEPLOYMENT_FILE"]))
    state_path = Path(os.environ["STATE_FILE"])
    state = load_state(state_path) if state_path.exists() else State(strategy_id="crash-test")
    pairs = pairs_from_file(deployment_file)
    web3 = create_web3(31337)
    wallet = HotWallet.from_env()

    def checkpoint() -> None:
        save_state(state_path, state)

    models = build_live_models(
        web3,
        wallet,
        [UniswapV2Deployment.from_file(deployment_file)],
        assets_from_file(deployment_file)["USDC"],
        ExecutionSettings(confirmation_timeout=60.0),
        known_pairs=list(pairs.values()),
        checkpoint=checkpoint,
        recovery_timeout=20.0,
    )
    report = models.recovery.recover(state, checkpoint)  # on start
    for line in report.lines():
        print("recovered:", line)

    def decide(ts: datetime, pm: PositionManager) -> list:
        trades: list = []
        if ts == CYCLES[0]:
            for ticker, amount in (("WETH-USDC", 100), ("DEV-WETH", 50)):
                if pm.get_current_position_for_pair(pairs[ticker]) is None:
                    trades += pm.open_1x_long(pairs[ticker], amount)
        else:
            weth = pm.get_current_position_for_pair(pairs["WETH-USDC"])
            if weth is not None:
                trades += pm.close_position(weth)
            if pm.get_current_position_for_pair(pairs["DEV-USDC"]) is None:
                trades += pm.open_1x_long(pairs["DEV-USDC"], 30)
        return trades

    runner = CycleRunner(
        state=state,
        pricing_model=models.pricing,
        execution_model=models.execution,
        sync_model=models.sync,
        valuation_model=models.valuation,
        decide=decide,
        checkpoint=checkpoint,
    )
    for ts in CYCLES:
        if state.cycle.last_completed_at is not None and state.cycle.last_completed_at >= ts:
            continue
        runner.run_cycle(ts)
    models.sync.sync(CYCLES[-1], state)  # the last cycle's trades settle the books at the next sync
    checkpoint()
    print("worker done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
