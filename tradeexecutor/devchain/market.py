"""Simulated market activity on the devchain: a trader who keeps a pool near a random walk.

A "fair value" follows a seeded geometric random walk; every step the trader swaps the pool
back to it through the router. Anything else that moves the pool (the executor's own
trades) is arbitraged away at the next step, as on a real market. `backfill()` replays
history at past block timestamps, so the demo strategy has candles from its first cycle.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from decimal import Decimal

from web3 import Web3

from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_PAIR, UNISWAP_V2_ROUTER, WETH, abi
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile

logger = logging.getLogger(__name__)

DEADLINE = 2**63
FEE_KEEP = (997, 1000)  # Uniswap v2 keeps 0.3 % of the input


class MarketSimulator:
    def __init__(
        self,
        web3: Web3,
        deployment: UniswapV2DeploymentFile,
        base: str = "WETH",
        quote: str = "USDC",
        seed: int = 1,
        volatility: float = 0.003,
        trader: str | None = None,
    ) -> None:
        self.web3 = web3
        self.deployment = deployment
        self.pair_info = deployment.pair(base, quote)
        self.base, self.quote = deployment.token(base), deployment.token(quote)
        self.trader = trader or web3.eth.accounts[0]  # the deployer: owns the test tokens
        self.random = random.Random(seed)
        self.volatility = volatility
        self.router = web3.eth.contract(address=deployment.router, abi=abi(UNISWAP_V2_ROUTER))
        self.pair = web3.eth.contract(address=self.pair_info.address, abi=abi(UNISWAP_V2_PAIR))
        self.fair_price = self.pool_price()
        self.swaps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fund_trader()

    # ---- pool maths ---------------------------------------------------------------------

    def _reserves(self) -> tuple[int, int]:
        r0, r1, _ = self.pair.functions.getReserves().call()
        if self.pair_info.token0.lower() == self.base.address.lower():
            return r0, r1
        return r1, r0

    def pool_price(self) -> Decimal:
        base_raw, quote_raw = self._reserves()
        return (Decimal(quote_raw) / 10**self.quote.decimals) / (Decimal(base_raw) / 10**self.base.decimals)

    def _fund_trader(self) -> None:
        for token in (self.base, self.quote):
            contract = self.web3.eth.contract(
                address=token.address, abi=abi(WETH if token.symbol == "WETH" else ERC20)
            )
            amount = 10**9 * 10**token.decimals
            if token.symbol == "WETH":
                self.web3.provider.make_request("anvil_setBalance", [self.trader, hex(10**36)])
                self._send(contract.functions.deposit(), value=amount)
            else:
                mint = self.web3.eth.contract(
                    address=token.address,
                    abi=[*abi(ERC20), *abi(("function mint(address to, uint256 amount)",))],
                )
                self._send(mint.functions.mint(self.trader, amount))
            self._send(contract.functions.approve(self.router.address, 2**256 - 1))

    def _send(self, fn, **tx) -> None:  # noqa: ANN001
        tx_hash = fn.transact({"from": self.trader, "gas": 300_000, **tx})
        self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.02)

    # ---- trading ------------------------------------------------------------------------

    def step(self, timestamp: int | None = None) -> None:
        """Move the fair value one step and swap the pool to it (at `timestamp` if given)."""
        self.fair_price *= Decimal(math.exp(self.volatility * self.random.gauss(0, 1)))
        base_raw, quote_raw = self._reserves()
        k = base_raw * quote_raw
        target = self.fair_price * Decimal(10**self.quote.decimals) / Decimal(10**self.base.decimals)
        new_base = math.isqrt(int(Decimal(k) / target))
        if timestamp is not None:
            self.web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        if new_base < base_raw:  # price goes up: buy base with quote
            new_quote = k // max(new_base, 1)
            amount_in = (new_quote - quote_raw) * FEE_KEEP[1] // FEE_KEEP[0]
            path = [self.quote.address, self.base.address]
        else:  # price goes down: sell base
            amount_in = (new_base - base_raw) * FEE_KEEP[1] // FEE_KEEP[0]
            path = [self.base.address, self.quote.address]
        if amount_in <= 0:
            if timestamp is not None:
                self.web3.provider.make_request("evm_mine", [])
            return
        self._send(self.router.functions.swapExactTokensForTokens(amount_in, 0, path, self.trader, DEADLINE))
        self.swaps += 1

    def backfill(self, minutes: int, swaps_per_minute: int = 4) -> None:
        """Trade through the past `minutes` at past timestamps, ending at the present."""
        latest = self.web3.eth.get_block("latest")["timestamp"]
        now = int(time.time())
        start = max(latest + 1, now - minutes * 60)
        steps = max(1, minutes * swaps_per_minute)
        for i in range(steps):
            ts = start + (now - start) * i // steps
            self.step(max(ts, latest + 1 + i))
        # land the chain's clock on the wall clock so candles close in real time from here on
        self.web3.provider.make_request("evm_setNextBlockTimestamp", [max(int(time.time()), start + steps)])
        self.web3.provider.make_request("evm_mine", [])

    def start(self, interval: float = 3.0) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.step()
                except Exception as e:  # the demo's market must not take the demo down
                    logger.warning("Simulated market step failed: %s", e)

        self._thread = threading.Thread(target=run, name="simulated-market", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
