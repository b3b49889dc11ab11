"""Per-trade round trip on anvil: a bare web3 router swap vs our execution pipeline.

bare web3   quote with router.getAmountsOut, pending nonce, build_transaction (web3 fills gas,
            padded x1.2 like ours, and fees),
            sign, send, wait_for_transaction_receipt.
pipeline    plan from reserves (one batch), allowance check, build (one batch: estimate,
            balance, fees), sign, on_signed, broadcast, wait for the receipt, decode Swap events.

execution model  the full live round trip of one strategy trade: price it from reserves
            (PositionManager), plan it in the state, then UniswapV2ExecutionModel: start, plan the
            swap, build, sign, record in the state, SAVE the state file (fsync), broadcast,
            confirm, decode, settle, book gas, SAVE again.

All swap 10 USDC -> WETH with approvals already in place; "exact approvals" adds the
approval transaction each trade needs in `--approval-mode exact`. A second table runs whole
cycles (CycleRunner: wallet sync with recovery, valuation, 10 buys, statistics, save) and
reports trades per second. Target: pipeline and execution model medians within 1.5x of the
bare swap. Run: .venv/bin/python benchmarks/execution.py
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from web3 import HTTPProvider, Web3

from tradeexecutor.devchain.chain import start_devchain
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, abi
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.settings import ExecutionSettings
from tradeexecutor.ethereum.tx import TransactionPipeline
from tradeexecutor.ethereum.uniswap_v2.deployments import (
    UniswapV2Deployment,
    assets_from_file,
    pairs_from_file,
)
from tradeexecutor.ethereum.uniswap_v2.execution import UniswapV2SwapExecutor
from tradeexecutor.ethereum.uniswap_v2.routing import MAX_UINT256, ApprovalMode, UniswapV2Routing
from tradeexecutor.ethereum.wallet import HotWallet
from tradeexecutor.execution.live.stack import build_live_models
from tradeexecutor.execution.live.state_access import open_state
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.strategy.position_manager import PositionManager

WARMUP = 3
ROUNDS = 40  # latency samples per variant, interleaved so machine load hits all alike
BURSTS = 3  # bursts of BURST trades in a row per variant; the best one is reported
BURST = 10
CYCLES = 8  # cycles of CYCLE_TRADES buys each
CYCLE_TRADES = 10
AMOUNT = 10 * 10**6  # 10 USDC

_posts = 0
_original_post = requests.Session.post


def _counting_post(self: requests.Session, *args: Any, **kwargs: Any) -> requests.Response:
    global _posts
    _posts += 1
    return _original_post(self, *args, **kwargs)


requests.Session.post = _counting_post  # type: ignore[method-assign]


def measure(variants: dict[str, Callable[[], object]]) -> dict[str, tuple[list[float], float, float]]:
    """Per variant: latencies, best trades/s over bursts, HTTP requests per trade."""
    global _posts
    for fn in variants.values():
        for _ in range(WARMUP):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    posts: dict[str, int] = dict.fromkeys(variants, 0)
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            before = _posts
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            posts[name] += _posts - before
    rates: dict[str, float] = dict.fromkeys(variants, 0.0)
    for _ in range(BURSTS):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(BURST):
                fn()
            rates[name] = max(rates[name], BURST / (time.perf_counter() - start))
    return {name: (times[name], rates[name], posts[name] / ROUNDS) for name in variants}


def main() -> None:
    with start_devchain(hot_wallet_reserve=Decimal(1_000_000)) as chain:
        d = chain.deployment
        usdc, weth = d.token("USDC").address, d.token("WETH").address
        # the bare swap trades from a second fresh account (gas set by anvil, USDC minted by the
        # deployer, which owns the test tokens), so the two never share nonces
        account = Account.create()
        chain.web3.provider.make_request("anvil_setBalance", [account.address, hex(100 * 10**18)])
        usdc_token = chain.web3.eth.contract(
            address=usdc, abi=abi(ERC20 + ("function mint(address to, uint256 amount)",))
        )
        chain.web3.eth.wait_for_transaction_receipt(
            usdc_token.functions.mint(account.address, 10**6 * 10**6).transact(
                {"from": chain.web3.eth.accounts[0]}
            )
        )

        # --- bare web3 ---------------------------------------------------------------------
        bare = Web3(HTTPProvider(chain.rpc_url))
        router = bare.eth.contract(address=d.router, abi=abi(UNISWAP_V2_ROUTER))
        token = bare.eth.contract(address=usdc, abi=abi(ERC20))
        approve = token.functions.approve(d.router, MAX_UINT256).build_transaction(
            {"from": account.address, "nonce": bare.eth.get_transaction_count(account.address, "pending")}
        )
        bare.eth.wait_for_transaction_receipt(
            bare.eth.send_raw_transaction(account.sign_transaction(approve).raw_transaction)
        )

        def bare_swap() -> None:
            path = [usdc, weth]
            quoted = router.functions.getAmountsOut(AMOUNT, path).call()[-1]
            tx = router.functions.swapExactTokensForTokens(
                AMOUNT, quoted * 995 // 1000, path, account.address, int(time.time()) + 300
            ).build_transaction(
                {"from": account.address, "nonce": bare.eth.get_transaction_count(account.address, "pending")}
            )
            tx["gas"] = tx["gas"] * 12 // 10  # unpadded v2 estimates run out of gas (docs/execution.md)
            signed = account.sign_transaction(tx)
            receipt = bare.eth.wait_for_transaction_receipt(
                bare.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.02
            )
            assert receipt["status"] == 1

        # --- our pipeline ------------------------------------------------------------------
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": chain.rpc_url})
        deployment = UniswapV2Deployment.from_file(d)
        pair = pairs_from_file(d)["WETH-USDC"]
        routing = UniswapV2Routing(web3, deployment)
        recorded: list = []

        def ours(mode: ApprovalMode) -> Callable[[], None]:
            wallet = HotWallet.create()  # one wallet per variant: allowances must not leak across
            chain.web3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**21)])
            chain.web3.eth.wait_for_transaction_receipt(
                usdc_token.functions.mint(wallet.address, 10**6 * 10**6).transact(
                    {"from": chain.web3.eth.accounts[0]}
                )
            )
            executor = UniswapV2SwapExecutor(TransactionPipeline(web3, wallet), routing, mode)

            def trade() -> None:
                plan = routing.plan_buy(pair, AMOUNT, wallet.address)
                outcome = executor.execute(plan, on_signed=recorded.append).raise_for_status()
                assert outcome.amount_in == AMOUNT

            return trade

        def funded_wallet() -> HotWallet:
            wallet = HotWallet.create()
            chain.web3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**21)])
            chain.web3.eth.wait_for_transaction_receipt(
                usdc_token.functions.mint(wallet.address, 10**6 * 10**6).transact(
                    {"from": chain.web3.eth.accounts[0]}
                )
            )
            return wallet

        workdir = tempfile.TemporaryDirectory()
        stores = contextlib.ExitStack()  # state files stay open (and locked) for the whole run
        usdc_asset = assets_from_file(d)["USDC"]
        known = list(pairs_from_file(d).values())

        def execution_model() -> Callable[[], None]:
            wallet = funded_wallet()
            state, checkpoint = stores.enter_context(
                open_state(Path(workdir.name) / "model.json", create=True)
            )
            models = build_live_models(
                web3,
                wallet,
                [deployment],
                usdc_asset,
                ExecutionSettings(approval_mode="unlimited"),
                known_pairs=known,
            )
            models.sync.sync(utcnow(), state)

            def trade() -> None:
                now = utcnow()
                trades = PositionManager(now, state, models.pricing).open_1x_long(pair, Decimal(10))
                models.execution.execute_trades(now, state, trades, checkpoint)
                assert trades[0].status == TradeStatus.success

            return trade

        # exact mode: every trade needs its own approval first (the allowance is used up each time)
        results = measure(
            {
                "bare web3 router swap": bare_swap,
                "pipeline, approval in place": ours(ApprovalMode.unlimited),
                "pipeline, exact approvals": ours(ApprovalMode.exact),
                "execution model + state saves": execution_model(),
            }
        )

        # whole cycles: sync (with recovery), revalue, decide 10 buys, execute, statistics, save
        wallet = funded_wallet()
        state, checkpoint = stores.enter_context(open_state(Path(workdir.name) / "cycles.json", create=True))
        models = build_live_models(
            web3,
            wallet,
            [deployment],
            usdc_asset,
            ExecutionSettings(approval_mode="unlimited"),
            known_pairs=known,
        )
        tickers = ["WETH-USDC", "DEV-USDC", "DEV-WETH"]

        def decide(ts: Any, pm: PositionManager) -> list:
            return [
                t
                for i in range(CYCLE_TRADES)
                for t in pm.open_1x_long(pairs_from_file(d)[tickers[i % len(tickers)]], Decimal(10))
            ]

        runner = CycleRunner(
            state=state,
            pricing_model=models.pricing,
            execution_model=models.execution,
            sync_model=models.sync,
            valuation_model=models.valuation,
            decide=decide,
            checkpoint=checkpoint,
        )
        runner.run_cycle(utcnow())  # warm-up, and the first sync books the wallet
        cycle_times = []
        for _ in range(CYCLES):
            start = time.perf_counter()
            report = runner.run_cycle(utcnow())
            cycle_times.append(time.perf_counter() - start)
            assert len(report.succeeded) == CYCLE_TRADES

    base = statistics.median(next(iter(results.values()))[0])
    print(
        f"{'round trip per trade (anvil)':<30}{'median ms':>10}{'p90 ms':>9}{'x bare':>8}{'trades/s':>10}{'HTTP req':>9}"
    )
    for label, (times, rate, posts) in results.items():
        med = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{label:<30}{med * 1000:>10.1f}{p90 * 1000:>9.1f}{med / base:>8.2f}{rate:>10.1f}{posts:>9.1f}")
    print(
        f"target: 'pipeline, approval in place' and 'execution model + state saves' medians within 1.50x of bare. "
        f"{ROUNDS} interleaved rounds; trades/s = best of {BURSTS} bursts of {BURST} in a row; "
        "HTTP req = JSON-RPC POSTs per trade."
    )
    med = statistics.median(cycle_times)
    print()
    print(
        f"{'cycle of ' + str(CYCLE_TRADES) + ' buys (CycleRunner)':<30}{'median s':>10}{'best s':>9}{'trades/s':>10}"
    )
    print(
        f"{'sync, value, execute, save':<30}{med:>10.3f}{min(cycle_times):>9.3f}{CYCLE_TRADES / med:>10.1f}"
    )


if __name__ == "__main__":
    main()
