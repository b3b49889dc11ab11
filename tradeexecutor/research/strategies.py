"""What a research run is given as "the strategy": a file, an imported module, or functions
written in a notebook, turned into something a Dask worker on another machine can load.

- a path (`"strategies/sma_crossover.py"`): the file's text travels to the workers, which
  load it exactly as `trade-executor backtest` does;
- an imported module with a `__file__`: the same, from that file;
- notebook functions: `decide_trades` alone, or a dict / module of the usual names
  (`decide_trades`, `create_indicators`, `PARAMETERS`, `TRADING_PAIRS`, ...). Missing settings
  get research defaults (`NOTEBOOK_DEFAULTS`: hourly cycle, USDC reserve, the devchain's chain
  id, `input.create_universe()`). Functions travel by value (Dask pickles them with
  cloudpickle), so a notebook's functions run on remote workers too.

`fingerprint()` is part of a sweep run's key: change the strategy's source and its runs are
no longer "already done".
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tradeexecutor.errors import UserError
from tradeexecutor.strategy.loader import check_module, load_strategy_module
from tradeexecutor.strategy.module import StrategyModule


def _default_universe(input: Any) -> Any:
    return input.create_universe()


NOTEBOOK_DEFAULTS: dict[str, Any] = {
    "TRADING_STRATEGY_ENGINE_VERSION": "0.1",
    "TRADING_STRATEGY_CYCLE": "1h",
    "RESERVE_CURRENCY": "USDC",
    "CHAIN_ID": 31337,
    "create_trading_universe": _default_universe,
}


@dataclass(frozen=True)
class FileStrategy:
    """A strategy file's name and text."""

    name: str
    source: str
    path: Path | None = None  # where it came from, when loaded on this machine

    def fingerprint(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    def load(self) -> StrategyModule:
        if self.path is not None and _same_text(self.path, self.source):
            return load_strategy_module(self.path)
        return load_strategy_module(_materialise(self))

    @property
    def label(self) -> str:
        return str(self.path or self.name)


@dataclass(frozen=True)
class NamespaceStrategy:
    """Strategy settings and functions from a notebook, loaded into a module of their own."""

    namespace: Mapping[str, Any] = field(default_factory=dict)
    name: str = "notebook strategy"

    def fingerprint(self) -> str:
        parts = []
        for key in sorted(self.namespace):
            value = self.namespace[key]
            if callable(value):
                try:
                    value = inspect.getsource(value)
                except (OSError, TypeError):
                    value = getattr(value, "__qualname__", repr(value))
            parts.append(f"{key}={value!r}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def load(self) -> StrategyModule:
        module = ModuleType("tradeexecutor_notebook_strategy")
        module.__dict__.update({**NOTEBOOK_DEFAULTS, **self.namespace})
        return check_module(Path(f"<{self.name}>"), module)

    @property
    def label(self) -> str:
        return self.name


StrategySpec = FileStrategy | NamespaceStrategy


def strategy_spec(strategy: Any, **functions: Callable[..., Any]) -> StrategySpec:
    """A `StrategySpec` from whatever a notebook hands over (see the module docstring)."""
    if isinstance(strategy, FileStrategy | NamespaceStrategy):
        return strategy
    if isinstance(strategy, str | os.PathLike):
        path = Path(strategy)
        if not path.is_file():
            raise UserError(
                f"The strategy file {path} does not exist; give the path of a .py strategy module."
            )
        return FileStrategy(path.name, path.read_text(encoding="utf-8"), path.resolve())
    if isinstance(strategy, ModuleType):
        file = getattr(strategy, "__file__", None)
        if file and Path(file).is_file() and not functions:
            return strategy_spec(Path(file))
        names = {k: v for k, v in vars(strategy).items() if not k.startswith("_")}
        return NamespaceStrategy({**names, **functions}, getattr(strategy, "__name__", "notebook strategy"))
    if isinstance(strategy, Mapping):
        return NamespaceStrategy({**strategy, **functions})
    if callable(strategy):
        return NamespaceStrategy(
            {"decide_trades": strategy, **functions}, getattr(strategy, "__name__", "decide_trades")
        )
    raise UserError(
        f"Cannot use {type(strategy).__name__} as a strategy; give a strategy file path, a module, "
        "a decide_trades function or a dict of settings and functions."
    )


def _same_text(path: Path, source: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == source
    except OSError:
        return False


_MATERIALISED: dict[str, Path] = {}


def _materialise(spec: FileStrategy) -> Path:
    """The strategy's text as a file on this machine (once per process), so tracebacks and the
    loader work as they do for a local file."""
    digest = spec.fingerprint()
    path = _MATERIALISED.get(digest)
    if path is None or not path.exists():
        directory = Path(tempfile.gettempdir()) / f"tradeexecutor-strategy-{digest[:16]}"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / (spec.name if spec.name.endswith(".py") else f"{spec.name}.py")
        if not _same_text(path, spec.source):
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(spec.source, encoding="utf-8")
            os.replace(tmp, path)
        _MATERIALISED[digest] = path
    return path
