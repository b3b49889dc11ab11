"""Per-strategy display settings: currency labels, symbol sizes, graph ranges, display name.

They come from the strategy module (`DASHBOARD = {...}`, kept by the loader in
`StrategyModule.extra`) and/or a config file (`--dashboard-config`) with one section per
strategy, like

    [strategies:simple_mm_ethusd]          # INI (the `key: value` or `key = value` style)
    price_currency: USD
    base_point_radius: 30

    [strategies.simple_mm_ethusd]          # or TOML
    price_currency = "USD"

The file wins over the module, key by key. Unknown keys and bad values are refused at start
with one sentence naming the key, so a typo never silently changes nothing.
"""

from __future__ import annotations

import configparser
import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    display_name: str | None = None
    price_currency: str | None = None  # label of the price axis, e.g. USDC
    base_point_radius: float = 7.0  # screen pixels: half the size of the largest fill marker
    graph_volume_threshold: Decimal = Decimal(0)  # trades smaller than this are not drawn
    # accepted for seed-style files and not used: the position graph gave way to equity and drawdown
    volume_currency: str | None = None
    position_graph_min: float | None = None
    position_graph_max: float | None = None
    strategy_actor: str | None = None

    def merged(self, overrides: Mapping[str, Any], source: str) -> DisplaySettings:
        return dataclasses.replace(self, **parse_settings(overrides, source))


_FIELDS = {f.name: f for f in dataclasses.fields(DisplaySettings)}
_TEXT = {"display_name", "price_currency", "volume_currency", "strategy_actor"}
_FLOAT = {"base_point_radius", "position_graph_min", "position_graph_max"}


def parse_settings(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate raw settings (strings from INI, typed values from TOML or Python)."""
    parsed: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).strip().lower()
        if key not in _FIELDS:
            raise UserError(
                f"Unknown dashboard setting {raw_key!r} in {source}: use one of {', '.join(sorted(_FIELDS))}."
            )
        if key in _TEXT:
            parsed[key] = None if value is None else str(value).strip()
            continue
        try:
            number = Decimal(str(value).strip())
            if not number.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise UserError(f"Dashboard setting {key} in {source} must be a number, got {value!r}.") from None
        if key == "graph_volume_threshold":
            if number < 0:
                raise UserError(f"Dashboard setting {key} in {source} must not be negative, got {value!r}.")
            parsed[key] = number
        elif key == "base_point_radius":
            if not 1 <= number <= 200:
                raise UserError(
                    f"Dashboard setting {key} in {source} must be 1 to 200 pixels, got {value!r}."
                )
            parsed[key] = float(number)
        else:
            parsed[key] = float(number)
    low, high = parsed.get("position_graph_min"), parsed.get("position_graph_max")
    if low is not None and high is not None and low >= high:
        raise UserError(f"position_graph_min must be below position_graph_max in {source}.")
    return parsed


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """{strategy id: raw settings} from an INI or TOML file (TOML when the name ends in .toml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(
            f"Cannot read the dashboard config {path}: {e.strerror or e}; check --dashboard-config."
        ) from None
    if path.suffix.lower() == ".toml":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise UserError(f"The dashboard config {path} is not valid TOML ({e}).") from None
        sections = document.get("strategies", {})
        if not isinstance(sections, dict) or not all(isinstance(v, dict) for v in sections.values()):
            raise UserError(f"The dashboard config {path} needs [strategies.<id>] tables.")
        return {str(k): dict(v) for k, v in sections.items()}
    parser = configparser.ConfigParser(interpolation=None, delimiters=(":", "="))
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        raise UserError(
            f"The dashboard config {path} is not a valid INI file ({e.message.splitlines()[0]})."
        ) from None
    out: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        kind, sep, strategy_id = section.partition(":")
        if not sep or kind.strip() != "strategies" or not strategy_id.strip():
            raise UserError(
                f"Section [{section}] in the dashboard config {path} must be named [strategies:<id>]."
            )
        out[strategy_id.strip()] = dict(parser.items(section))
    return out


def display_settings(
    strategy_id: str,
    module_settings: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
) -> DisplaySettings:
    """The module's `DASHBOARD` dict, then the config file's section for this strategy on top."""
    settings = DisplaySettings()
    if module_settings is not None:
        if not isinstance(module_settings, Mapping):
            raise UserError("DASHBOARD in the strategy module must be a dict of display settings.")
        settings = settings.merged(module_settings, "the strategy module's DASHBOARD")
    if config_file is not None:
        sections = read_config_file(config_file)
        if strategy_id in sections:
            settings = settings.merged(sections[strategy_id], f"{config_file} [strategies:{strategy_id}]")
        else:
            # validate the other sections too: a typo in another strategy's section is still a typo
            for other, values in sections.items():
                parse_settings(values, f"{config_file} [strategies:{other}]")
    return settings
