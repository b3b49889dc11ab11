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

from tradeexecutor.devchain.chaos.lane import Executor, Lane, wait_until
from tradeexecutor.devchain.chaos.run import ChaosPlan, ChaosReport, format_table, run_chaos
from tradeexecutor.devchain.chaos.scenarios import (
    OUTAGE_MODES,
    PHASES,
    RESTART,
    ScenarioResult,
    run_kill_chain,
    run_outage,
)
from tradeexecutor.devchain.chaos.verify import Verification, verify_wallet

__all__ = [
    "OUTAGE_MODES",
    "PHASES",
    "RESTART",
    "ChaosPlan",
    "ChaosReport",
    "Executor",
    "Lane",
    "ScenarioResult",
    "Verification",
    "format_table",
    "run_chaos",
    "run_kill_chain",
    "run_outage",
    "verify_wallet",
    "wait_until",
]
