"""`--simulate` for commands that trade: the same command, on an anvil fork, with a separate state file.

Usage in a command (after the state path is known, before connecting):

    with simulate_if_asked(simulate, simulate_reserve, strategy_file, path, continue_simulation) as scope:
        setup = connect_live(...)        # reaches the fork when simulating
        scope.connected(setup)           # funds --simulate-reserve, prints what is simulated
        ... open scope.state_path instead of path ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tradeexecutor.errors import UserError

if TYPE_CHECKING:
    from tradeexecutor.execution.live.simulate import Simulation


@dataclass
class SimulationScope:
    state_path: Path
    simulation: Simulation | None = None
    reserve: Decimal | None = None

    @property
    def simulating(self) -> bool:
        return self.simulation is not None

    def connected(self, setup: Any, say: Callable[[str], object] = typer.echo) -> None:
        """After connect_live on the fork: give the wallet the asked reserve, say what is simulated."""
        if self.simulation is None:
            return
        say(self.simulation.describe())
        if self.reserve is not None:
            say(self.simulation.fund_reserve(setup.reserve, self.reserve))


@contextmanager
def simulate_if_asked(
    simulate: bool,
    simulate_reserve: Decimal | None,
    strategy_file: Path | None,
    state_path: Path,
    continue_simulation: bool = False,
) -> Iterator[SimulationScope]:
    if not simulate:
        if simulate_reserve is not None:
            raise UserError("--simulate-reserve only works with --simulate: add --simulate or drop it.")
        if continue_simulation:
            raise UserError("--continue-simulation only works with --simulate: add --simulate or drop it.")
        yield SimulationScope(state_path)
        return
    from tradeexecutor.execution.live.simulate import simulation

    with simulation(strategy_file, state_path, continue_previous=continue_simulation) as sim:
        yield SimulationScope(sim.state_path, sim, simulate_reserve)
