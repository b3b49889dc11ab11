"""An executor that traded on anvil with the real live execution code, for the dashboard tests.

Eight hourly cycles of the real `CycleRunner` with the Uniswap v2 live models on a fresh
devchain: buys and sells on WETH-USDC and DEV-USDC, another trader moving both markets every
15 minutes, an external USDC deposit, and a buy that fails on chain (its USDC was moved out
of the wallet behind the executor's back, which the next sync books as a withdrawal). Chain
time is advanced between steps and every model reads the chain's clock, so trades, ledger
entries and statistics carry consistent times a few hours apart. The price line comes from
the pools' own Swap events (`OnchainCandleSource`), as the live universe's candles would.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chain_helpers import move_market
from tradeexecutor.state.state import State

UTC = datetime.UTC
QUARTER = 15 * 60


@dataclass
class Scenario:
    state: State
    state_bytes: bytes
    price_series: dict[str, list[tuple]]  # as publish.price_series makes them: OHLC candles
    now: datetime.datetime
    failed_trade_ids: list[int] = field(default_factory=list)
    deposit_usdc: Decimal = Decimal(0)
    withdrawn_usdc: Decimal = Decimal(0)


def chain_time(web3: Any) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(web3.eth.get_block("latest")["timestamp"], UTC)


def advance(web3: Any, seconds: int) -> None:
    web3.provider.make_request("evm_increaseTime", [seconds])
    web3.provider.make_request("evm_mine", [])


def send_from_hot_wallet(devchain: Any, eth_web3: Any, wallet: Any, fn: Any) -> None:
    """A transfer the executor did not make (signed with its key by 'someone else')."""
    tx = fn.build_transaction(
        {"from": wallet.address, "nonce": eth_web3.eth.get_transaction_count(wallet.address)}
    )
    signed = devchain.hot_wallet.sign_transaction(tx)
    devchain.web3.eth.wait_for_transaction_receipt(
        devchain.web3.eth.send_raw_transaction(signed.raw_transaction)
    )
    wallet.forget_nonce()


def mint(devchain: Any, symbol: str, to: str, amount: int) -> None:
    from tradeexecutor.ethereum.abi import ERC20, abi

    web3 = devchain.web3
    token = web3.eth.contract(
        address=devchain.deployment.token(symbol).address,
        abi=abi(ERC20 + ("function mint(address to, uint256 amount)",)),
    )
    web3.eth.wait_for_transaction_receipt(
        token.functions.mint(to, amount).transact({"from": web3.eth.accounts[0]})
    )


# another trader's swaps between cycles: (sell symbol, buy symbol, amount in smallest units)
MARKET_MOVES = [
    ("USDC", "WETH", 60_000 * 10**6),
    ("USDC", "DEV", 4_000 * 10**6),
    ("WETH", "USDC", 20 * 10**18),
    ("DEV", "USDC", 500 * 10**18),
    ("USDC", "WETH", 30_000 * 10**6),
    ("WETH", "USDC", 35 * 10**18),
    ("USDC", "DEV", 3_000 * 10**6),
    ("USDC", "WETH", 45_000 * 10**6),
]


def run_scenario(tmp_dir: Path) -> Scenario:
    from tradeexecutor.data.onchain import OnchainCandleSource
    from tradeexecutor.data.time_bucket import TimeBucket
    from tradeexecutor.devchain.chain import start_devchain
    from tradeexecutor.ethereum.abi import ERC20, abi
    from tradeexecutor.ethereum.connection import create_web3
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.uniswap_v2.deployments import (
        UniswapV2Deployment,
        assets_from_file,
        pairs_from_file,
    )
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution import publish
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.execution.runner import CycleRunner
    from tradeexecutor.state.serialisation import encode_state
    from tradeexecutor.state.trade import TradeStatus

    with start_devchain() as devchain:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": devchain.rpc_url})
        wallet = HotWallet.from_env({"PRIVATE_KEY": devchain.hot_wallet.key.to_0x_hex()})
        deployment = UniswapV2Deployment.from_file(devchain.deployment)
        pairs = pairs_from_file(devchain.deployment)
        assets = assets_from_file(devchain.deployment)
        state = State(strategy_id="dashboard-demo")
        saved: list[bytes] = []

        def checkpoint() -> None:
            saved.append(encode_state(state))

        models = build_live_models(
            web3,
            wallet,
            [deployment],
            assets["USDC"],
            ExecutionSettings(confirmation_timeout=30.0),
            known_pairs=list(pairs.values()),
            checkpoint=checkpoint,
            recovery_timeout=10.0,
        )

        def clock() -> datetime.datetime:
            return chain_time(web3)

        for model in (models.execution, models.sync, models.recovery):
            model.clock = clock
        weth, dev = pairs["WETH-USDC"], pairs["DEV-USDC"]
        scenario = Scenario(state=state, state_bytes=b"", price_series={}, now=clock())
        usdc = web3.eth.contract(address=assets["USDC"].address, abi=abi(ERC20))
        outsider = devchain.web3.eth.accounts[7]

        def decide(ts: datetime.datetime, pm: Any) -> list:
            cycle = state.cycle.completed_count + 1
            # what a strategy's input.plots.record() stores: a line on WETH's chart, a pane
            mid = float(models.pricing.get_mid_price(ts, weth))
            state.plots.record(
                ts, "mid x 0.99", mid * 0.99, pair=weth.key, ticker=weth.ticker, colour="#e377c2"
            )
            state.plots.record(ts, "cycle", cycle, pane="Cycle number", colour="#7c3aed")
            position = pm.get_current_position_for_pair
            if cycle == 1:
                return pm.open_1x_long(weth, 2_000) + pm.open_1x_long(dev, 600)
            if cycle == 2:
                return pm.open_1x_long(weth, 1_000)
            if cycle == 3:
                return pm.adjust_position(weth, -1_200) + pm.open_1x_long(dev, 300)
            if cycle == 4:
                return pm.close_position(position(weth))
            if cycle == 5:
                # someone moves 4,000 USDC out of the wallet after the sync: this buy will fail
                send_from_hot_wallet(devchain, web3, wallet, usdc.functions.transfer(outsider, 4_000 * 10**6))
                scenario.withdrawn_usdc = Decimal(4_000)
                return pm.open_1x_long(weth, 9_000)
            if cycle == 6:
                return pm.open_1x_long(
                    weth, 1_500, stop_loss_pct=0.9, take_profit_pct=1.25
                ) + pm.close_position(position(dev))
            if cycle == 7:
                return pm.adjust_position(weth, -500)
            return []

        runner = CycleRunner(
            state=state,
            pricing_model=models.pricing,
            execution_model=models.execution,
            sync_model=models.sync,
            valuation_model=models.valuation,
            decide=decide,
            checkpoint=checkpoint,
        )
        for cycle, (sell, buy, amount) in enumerate(MARKET_MOVES, start=1):
            for quarter in range(4):
                advance(web3, QUARTER)
                if quarter % 2 == 0 or cycle > 1:
                    for _ in range(2):  # two swaps a quarter: candles with a body
                        move_market(devchain, sell, buy, amount // 8)
            if cycle == 5:
                mint(devchain, "USDC", wallet.address, 2_500 * 10**6)  # an investor's deposit
                scenario.deposit_usdc = Decimal(2_500)
            report = runner.run_cycle(clock())
            scenario.failed_trade_ids += [t.trade_id for t in report.trades if t.status == TradeStatus.failed]
        advance(web3, 20 * 60)
        candles = OnchainCandleSource(
            web3, [weth, dev], cache_dir=tmp_dir / "candles", time_bucket="15min"
        ).scan()
        by_ticker = {p.ticker: candles[p.key] for p in (weth, dev)}
        scenario.price_series = publish.price_series(by_ticker, TimeBucket.m15)
        scenario.now = clock()
        scenario.state_bytes = saved[-1]
        return scenario
