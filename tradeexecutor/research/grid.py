"""The parameter space of a sweep: `--grid NAME=SPEC`, and the combinations it spans.

    fast=5:50:5        a range, both ends included: 5, 10, ..., 50 (ints stay ints)
    ratio=0.1:0.9:0.2  0.1, 0.3, 0.5, 0.7, 0.9
    slow=20,50,100     a list
    flag=true          one value (a fixed override)

Values take the type of the parameter's default in PARAMETERS (`tradeexecutor.strategy.parameters`),
so a grid over an unknown parameter or of the wrong type stops before anything runs.
A search space can be walked fully (`combinations`), sampled at random without repetition
(`sample`), or handed to Optuna (`Dimension.suggest`).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeexecutor.strategy.parameters import ParameterError, check_name, convert_text, split_assignment

MAX_COMBINATIONS = 10_000_000


@dataclass(frozen=True)
class Dimension:
    """One swept parameter: its values, and the range they came from (for Optuna)."""

    name: str
    values: tuple[Any, ...]
    low: Any = None
    high: Any = None
    step: Any = None

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value of this dimension."""
        if self.is_range and isinstance(self.low, int) and not isinstance(self.low, bool):
            return trial.suggest_int(self.name, self.low, self.high, step=self.step)
        if self.is_range and isinstance(self.low, float):
            return trial.suggest_float(self.name, self.low, self.high, step=self.step)
        return trial.suggest_categorical(self.name, list(self.values))


def _range_values(name: str, low: Any, high: Any, step: Any, spec: str) -> tuple[Any, ...]:
    if not isinstance(low, int | float | Decimal) or isinstance(low, bool):
        raise ParameterError(
            f"--grid {name}={spec}: a range needs a numeric parameter; list the values with commas."
        )
    if step <= 0:
        raise ParameterError(f"--grid {name}={spec}: the step must be positive, e.g. {name}=5:50:5.")
    if high < low:
        raise ParameterError(f"--grid {name}={spec}: the range ends before it starts; write LOW:HIGH:STEP.")
    count = int((high - low) / step + 1e-9) + 1
    if count > MAX_COMBINATIONS:
        raise ParameterError(f"--grid {name}={spec} has {count:,} values; use a larger step.")
    if isinstance(low, int):
        return tuple(low + i * step for i in range(count))
    values = [low + i * step for i in range(count)]
    if isinstance(low, float):  # 0.1 + 2 * 0.2 is 0.5000000000000001: round to the step's digits
        digits = max(0, -int(math.floor(math.log10(step))) + 6)
        values = [round(v, digits) for v in values]
    return tuple(values)


def parse_dimension(text: str, declared: Mapping[str, Any], where: str = "The strategy") -> Dimension:
    """One `--grid NAME=SPEC` (see the module docstring); one sentence for a bad spec."""
    name, spec = split_assignment(text, "--grid")
    check_name(name, declared, where)
    default = declared[name]
    if not spec:
        raise ParameterError(
            f"--grid {name}= has no values; write e.g. --grid {name}=5:50:5 or {name}=20,50,100."
        )
    if ":" in spec and not isinstance(default, str):
        parts = spec.split(":")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ParameterError(
                f"--grid {name}={spec} is not a range LOW:HIGH:STEP (e.g. {name}=5:50:5) nor a list (e.g. {name}=5,10,20)."
            )
        low, high, step = (convert_text(name, p.strip(), default, "--grid") for p in parts)
        return Dimension(name, _range_values(name, low, high, step, spec), low, high, step)
    items = [p.strip() for p in spec.split(",")]
    if not all(items):
        raise ParameterError(
            f"--grid {name}={spec} has an empty value; separate the values with single commas."
        )
    values = tuple(dict.fromkeys(convert_text(name, item, default, "--grid") for item in items))
    return Dimension(name, values)


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]

    @classmethod
    def parse(
        cls, texts: Sequence[str], declared: Mapping[str, Any], where: str = "The strategy"
    ) -> SearchSpace:
        dimensions: dict[str, Dimension] = {}
        for text in texts:
            dimension = parse_dimension(text, declared, where)
            if dimension.name in dimensions:
                raise ParameterError(f"--grid names {dimension.name} twice; give each parameter once.")
            dimensions[dimension.name] = dimension
        return cls(tuple(dimensions.values()))

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions) if self.dimensions else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def combinations(self) -> Iterator[dict[str, Any]]:
        names = self.names
        for values in itertools.product(*(d.values for d in self.dimensions)):
            yield dict(zip(names, values, strict=True))

    def sample(self, count: int, seed: int = 0) -> list[dict[str, Any]]:
        """`count` distinct combinations drawn at random (all of them when there are fewer)."""
        size = self.size
        rng = random.Random(seed)
        chosen = range(size) if count >= size else rng.sample(range(size), count)
        lengths = [len(d.values) for d in self.dimensions]
        out = []
        for flat in chosen:
            combo, rest = {}, flat
            for dimension, length in zip(reversed(self.dimensions), reversed(lengths), strict=True):
                rest, i = divmod(rest, length)
                combo[dimension.name] = dimension.values[i]
            out.append({n: combo[n] for n in self.names})
        return out
