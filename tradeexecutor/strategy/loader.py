"""Load a strategy file by path and check it against the module contract.

The aim is that a user fixing a strategy file needs one round trip: every missing or
wrong-typed setting and function is reported in one message, and a file that cannot even
be executed (syntax error, failed import, exception at module level) is reported with its
file, line and the text of that line, never as a bare traceback.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from tradeexecutor.data.time_bucket import VALID_DURATIONS, TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.module import ENGINE_VERSIONS, EngineVersion, StrategyModule
from tradeexecutor.strategy.user_code import innermost_user_frame

DISPLAY_SETTINGS = ("NAME", "SHORT_DESCRIPTION", "LONG_DESCRIPTION", "ICON_URL")
KNOWN_SETTINGS = {
    "TRADING_STRATEGY_ENGINE_VERSION",
    "TRADING_STRATEGY_CYCLE",
    "RESERVE_CURRENCY",
    "CHAIN_ID",
    "PARAMETERS",
    "TRADING_PAIRS",
    "CANDLE_TIME_BUCKET",
    "STOP_LOSS_TIME_BUCKET",
    *DISPLAY_SETTINGS,
}
_MISSING = object()


class StrategyLoadError(UserError):
    """The strategy file cannot be used; `problems` lists every reason found."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        if len(problems) == 1:
            message = f"Strategy file {path}: {problems[0]}"
        else:
            listed = "\n".join(f"  - {p}" for p in problems)
            message = f"Strategy file {path} has {len(problems)} problems:\n{listed}"
        super().__init__(message)


def load_strategy_module(path: Path | str, parameters: Sequence[str] = ()) -> StrategyModule:
    """Execute the strategy file at `path` and check it; raise `StrategyLoadError` if unusable.

    `parameters` are `NAME=VALUE` overrides of its PARAMETERS (`--param`), checked against them
    (see `tradeexecutor.strategy.parameters`)."""
    path = Path(path)
    if not path.exists():
        raise StrategyLoadError(path, ["the file does not exist; check --strategy-file / STRATEGY_FILE."])
    if not path.is_file():
        raise StrategyLoadError(path, ["it is not a file; pass the path of a .py strategy module."])
    module = _execute(path)
    checked = check_module(path, module)
    if not parameters:
        return checked
    from tradeexecutor.strategy.parameters import with_parameters

    return with_parameters(checked, texts=parameters)


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"tradeexecutor_strategy_{stem}_{digest}"


def _execute(path: Path) -> ModuleType:
    try:
        source = path.read_bytes()
    except OSError as e:
        raise StrategyLoadError(path, [f"it cannot be read ({e.strerror})."]) from None
    filename = str(path.resolve())
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        raise StrategyLoadError(path, [_describe_syntax_error(e, path)]) from None
    except ValueError as e:  # e.g. null bytes in the source
        raise StrategyLoadError(path, [f"it is not Python source ({e})."]) from None

    name = _module_name(path)
    module = ModuleType(name)
    module.__file__ = filename
    # Registered while executing so that dataclasses, pickling and typing can find it.
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except SyntaxError as e:  # in a module the strategy imports
        sys.modules.pop(name, None)
        raise StrategyLoadError(path, [_describe_syntax_error(e, path)]) from None
    except (Exception, SystemExit) as e:
        sys.modules.pop(name, None)
        raise StrategyLoadError(path, [_describe_exec_error(e, path)]) from None
    return module


def _describe_syntax_error(e: SyntaxError, path: Path) -> str:
    where = Path(e.filename) if e.filename else path
    shown = path if where.resolve() == path.resolve() else where
    line = (e.text or "").rstrip("\n")
    text = f"{type(e).__name__} at line {e.lineno}: {e.msg}.\n    {shown}:{e.lineno}"
    if line.strip():
        stripped = line.lstrip()
        text += f"\n        {stripped}"
        if e.offset and e.offset > 0:
            column = max(0, e.offset - 1 - (len(line) - len(stripped)))
            text += "\n        " + " " * column + "^"
    return text


def _describe_exec_error(e: BaseException, path: Path) -> str:
    frame = innermost_user_frame(e, path)
    detail = "".join(traceback.format_exception_only(type(e), e)).strip()
    if frame is None:
        return f"executing it failed: {detail}."
    text = f"executing it failed at line {frame.lineno}: {detail}\n    {path}:{frame.lineno}"
    if frame.line:
        text += f"\n        {frame.line.strip()}"
    deepest = traceback.extract_tb(e.__traceback__)[-1]
    if deepest is not frame and Path(deepest.filename).resolve() != path.resolve():
        text += f"\n    (raised in {deepest.filename}:{deepest.lineno})"
    return text


# --- checks ----------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _missing(name: str, namespace: dict[str, Any], hint: str) -> str:
    similar = [k for k in namespace if k.lower() == name.lower() and k != name]
    found = f" (found {similar[0]}: names are case-sensitive)" if similar else ""
    return f"{name} is missing{found}; {hint}"


def check_module(path: Path, module: ModuleType) -> StrategyModule:
    """Check an executed strategy module, collecting every problem before raising."""
    ns = vars(module)
    problems: list[str] = []
    supported = ", ".join(ENGINE_VERSIONS)

    engine: EngineVersion | None = None
    version = ns.get("TRADING_STRATEGY_ENGINE_VERSION", _MISSING)
    if version is _MISSING:
        problems.append(
            _missing(
                "TRADING_STRATEGY_ENGINE_VERSION",
                ns,
                f'add TRADING_STRATEGY_ENGINE_VERSION = "{supported.split(",")[0]}".',
            )
        )
    elif not isinstance(version, str):
        problems.append(
            f'TRADING_STRATEGY_ENGINE_VERSION must be a string such as "0.1", not {_type_name(version)}.'
        )
    elif version.strip() not in ENGINE_VERSIONS:
        problems.append(
            f"TRADING_STRATEGY_ENGINE_VERSION {version!r} is not supported; this executor supports {supported}."
        )
    else:
        engine = ENGINE_VERSIONS[version.strip()]

    valid = ", ".join(VALID_DURATIONS)
    cycle = _duration(ns, "TRADING_STRATEGY_CYCLE", CycleDuration, problems, required=True)
    bucket = _duration(ns, "CANDLE_TIME_BUCKET", TimeBucket, problems, required=False)
    stop_loss = _duration(ns, "STOP_LOSS_TIME_BUCKET", TimeBucket, problems, required=False)
    if bucket is None and isinstance(cycle, CycleDuration):
        bucket = cycle.to_time_bucket()
    if stop_loss is not None and bucket is not None and stop_loss.timedelta >= bucket.timedelta:
        problems.append(
            f"STOP_LOSS_TIME_BUCKET {stop_loss.value} must be finer than the candle time bucket {bucket.value}; "
            f"pick one of {valid} that is shorter."
        )

    reserve = ns.get("RESERVE_CURRENCY", _MISSING)
    if reserve is _MISSING:
        problems.append(
            _missing("RESERVE_CURRENCY", ns, 'set it to the symbol of your cash token, e.g. "USDC".')
        )
    elif not isinstance(reserve, str) or not reserve.strip():
        problems.append(f'RESERVE_CURRENCY must be a token symbol such as "USDC", not {_type_name(reserve)}.')

    chain_id = ns.get("CHAIN_ID", _MISSING)
    if chain_id is _MISSING:
        problems.append(
            _missing("CHAIN_ID", ns, "set it to the chain's integer id, e.g. ChainId.ethereum or 1.")
        )
    elif isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        problems.append(
            f"CHAIN_ID must be a positive integer chain id such as 1 or ChainId.polygon, not {_type_name(chain_id)}."
        )

    parameters = ns.get("PARAMETERS", {})
    if not isinstance(parameters, dict):
        problems.append(f"PARAMETERS must be a dict of name -> value, not {type(parameters).__name__}.")
        parameters = {}
    elif bad_keys := [k for k in parameters if not isinstance(k, str)]:
        problems.append(f"PARAMETERS keys must be strings; {bad_keys[0]!r} is not.")

    pairs = _trading_pairs(ns.get("TRADING_PAIRS", ()), problems)

    display = {}
    for name in DISPLAY_SETTINGS:
        value = ns.get(name, _MISSING)
        if value is _MISSING:
            continue
        if isinstance(value, str):
            display[name] = value
        else:
            problems.append(f"{name} must be a string, not {type(value).__name__}.")

    # With an unusable version, check the functions against the newest engine so that the
    # user still learns about every problem in one round trip.
    expected_engine = engine or list(ENGINE_VERSIONS.values())[-1]
    decide = _function(ns, "decide_trades", expected_engine, problems)
    create = _function(ns, "create_trading_universe", expected_engine, problems)
    indicators = (
        _function(ns, "create_indicators", expected_engine, problems) if "create_indicators" in ns else None
    )

    if problems:
        raise StrategyLoadError(path, problems)
    assert engine is not None and isinstance(cycle, CycleDuration) and bucket is not None
    assert decide is not None and create is not None
    extra = {
        k: v
        for k, v in ns.items()
        if k.isupper() and not k.startswith("_") and k not in KNOWN_SETTINGS and not isinstance(v, ModuleType)
    }
    return StrategyModule(
        path=path,
        module=module,
        engine=engine,
        cycle_duration=cycle,
        reserve_currency=str(reserve).strip(),
        chain_id=int(chain_id),
        parameters=MappingProxyType(dict(parameters)),
        trading_pairs=pairs,
        time_bucket=bucket,
        stop_loss_time_bucket=stop_loss,
        display=MappingProxyType(display),
        extra=MappingProxyType(extra),
        decide_trades_function=decide,
        create_trading_universe_function=create,
        create_indicators_function=indicators,
    )


def _duration(ns: dict[str, Any], name: str, kind: type, problems: list[str], required: bool) -> Any:
    value = ns.get(name, _MISSING)
    example = "CycleDuration.cycle_1h" if kind is CycleDuration else "TimeBucket.h1"
    if value is _MISSING or (value is None and not required):
        if required:
            problems.append(
                _missing(name, ns, f'set it to one of {", ".join(VALID_DURATIONS)}, e.g. {example} or "1h".')
            )
        return None
    if not isinstance(value, str):
        problems.append(
            f'{name} must be a {kind.__name__} or a string such as "1h", not {_type_name(value)}.'
        )
        return None
    try:
        return kind.parse(value)
    except ValueError:
        problems.append(f"{name} {value!r} is not one of {', '.join(VALID_DURATIONS)}.")
        return None


def _trading_pairs(value: Any, problems: list[str]) -> tuple[str, ...]:
    """TRADING_PAIRS as 'BASE-QUOTE' tickers; accepts tickers or (base, quote) tuples."""
    hint = 'TRADING_PAIRS must be a list of tickers like "WETH-USDC" or (base, quote) tuples'
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append(f"{hint}, not {type(value).__name__}.")
        return ()
    tickers = []
    for item in value:
        if isinstance(item, str) and re.fullmatch(r"[^\s-]+-[^\s-]+", item.strip()):
            tickers.append(item.strip())
        elif isinstance(item, tuple) and len(item) == 2 and all(isinstance(s, str) and s for s in item):
            tickers.append(f"{item[0]}-{item[1]}")
        else:
            problems.append(f"{hint}; {item!r} is neither.")
            return ()
    return tuple(tickers)


def _function(
    ns: dict[str, Any], name: str, engine: EngineVersion, problems: list[str]
) -> Callable[..., Any] | None:
    """The function `name`, if present and callable the way `engine` calls it."""
    fn = ns.get(name, _MISSING)
    expected: str = getattr(engine, f"{name}_signature")
    if fn is _MISSING:
        problems.append(_missing(name, ns, f"define {expected}."))
        return None
    if not callable(fn):
        problems.append(f"{name} must be a function {expected}, not {type(fn).__name__}.")
        return None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    try:
        sig.bind(None)
    except TypeError:
        problems.append(
            f"{name}{sig} has the wrong arguments; engine version {engine.version} calls {expected}."
        )
        return None
    return fn
