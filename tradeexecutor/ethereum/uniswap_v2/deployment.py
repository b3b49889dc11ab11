"""A Uniswap v2 deployment described by a JSON file.

The devchain writes one; an operator can write one for any Uniswap v2 fork that has no
built-in slug. Later commands read it to know every address, token and pair.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.filewrite import write_atomic

FORMAT = "trade-executor/uniswap-v2-deployment/1"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    symbol: str
    address: str
    decimals: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class PairInfo:
    base: str  # token symbol
    quote: str  # token symbol
    address: str
    token0: str
    token1: str
    fee_bps: int = 30


@dataclass(frozen=True, slots=True)
class UniswapV2DeploymentFile:
    chain_id: int
    rpc_url: str
    exchange_slug: str
    factory: str
    router: str
    weth: str
    init_code_hash: str
    reserve_symbol: str
    tokens: dict[str, TokenInfo]
    pairs: list[PairInfo]
    hot_wallet: str | None = None
    deployed_at_block: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, symbol: str) -> TokenInfo:
        try:
            return self.tokens[symbol]
        except KeyError:
            known = ", ".join(sorted(self.tokens))
            raise UserError(f"Token {symbol!r} is not in the deployment; known tokens: {known}.") from None

    def pair(self, base: str, quote: str) -> PairInfo:
        for p in self.pairs:
            if p.base == base and p.quote == quote:
                return p
        known = ", ".join(f"{p.base}-{p.quote}" for p in self.pairs)
        raise UserError(f"Pair {base}-{quote} is not in the deployment; known pairs: {known}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = FORMAT
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UniswapV2DeploymentFile:
        data = dict(data)
        data.pop("format", None)
        tokens = {s: TokenInfo(**t) for s, t in data.pop("tokens").items()}
        pairs = [PairInfo(**p) for p in data.pop("pairs")]
        return cls(tokens=tokens, pairs=pairs, **data)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode())

    @classmethod
    def read(cls, path: Path) -> UniswapV2DeploymentFile:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(
                f"Deployment file {path} does not exist; create it with `trade-executor devchain up`."
            ) from None
        except json.JSONDecodeError as e:
            raise UserError(f"Deployment file {path} is not valid JSON (line {e.lineno}).") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError(f"Deployment file {path} is not a {FORMAT} file.")
        try:
            return cls.from_dict(data)
        except (TypeError, KeyError) as e:
            raise UserError(f"Deployment file {path} is missing or has unexpected fields: {e}.") from None
