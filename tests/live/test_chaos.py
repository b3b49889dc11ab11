"""A reduced chaos run (benchmarks/chaos.py has the full one): a real `start` process killed at
seams of a trade and at a random moment, and starved of its node in two ways; the chain, not
the executor's bookkeeping, says that nothing was lost or duplicated and that trading resumed."""

from __future__ import annotations

import pytest

from tradeexecutor.devchain.chaos import RESTART, Lane, run_kill_chain, run_outage
from tradeexecutor.devchain.rpc_proxy import REFUSE

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


@pytest.fixture()
def lane(tmp_path, tmp_path_factory):
    lane = Lane(0, tmp_path, tmp_path_factory.getbasetemp() / "chaos-pycache").start()
    yield lane
    lane.close()


def assert_nothing_lost(result) -> None:
    v = result.verification
    assert (v.lost, v.duplicated, result.permanent_halt) == (0, 0, False), (result.notes, v.problems)
    assert v.swaps_on_chain == v.trades_booked > 0  # trade by trade: every swap on chain is booked once


def test_kill_points_and_outages_lose_nothing_and_never_halt_for_good(lane) -> None:
    killed = run_kill_chain(lane, "seams", ["swap.recorded", "approve.confirmed", 2.5])
    assert killed.kills >= 2 and killed.kill_points[:2] == ["swap.recorded", "approve.confirmed"], killed
    assert_nothing_lost(killed)

    for mode, phase in ((REFUSE, "universe build"), (RESTART, "confirmation")):
        outage = run_outage(lane, mode, phase, down=6.0)
        assert not outage.notes, outage.notes  # the phase was reached, the node came back
        assert outage.recovery_s is not None  # a cycle completed after the node returned
        assert_nothing_lost(outage)
