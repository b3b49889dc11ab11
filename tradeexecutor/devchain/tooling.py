"""Locate the npm dev tooling (anvil binary, Uniswap v2 artifacts) installed by `npm ci`."""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError

INSTALL_HINT = "run `make deps` (or `npm ci`) in the trade-executor checkout"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"


def node_modules_candidates() -> list[Path]:
    configured = os.environ.get("TRADE_EXECUTOR_NODE_MODULES")
    paths = [Path(configured)] if configured else []
    paths += [Path.cwd() / "node_modules", PROJECT_ROOT / "node_modules"]
    return paths


def find_anvil() -> Path:
    """The anvil binary: $ANVIL_BINARY, then node_modules/.bin, then PATH."""
    configured = os.environ.get("ANVIL_BINARY")
    if configured:
        path = Path(configured)
        if not path.exists():
            raise UserError(f"ANVIL_BINARY points to {path}, which does not exist; fix or unset it.")
        return path
    for base in node_modules_candidates():
        candidate = base / ".bin" / "anvil"
        if candidate.exists():
            return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise UserError(f"The anvil binary is not installed: {INSTALL_HINT}.")


@cache
def uniswap_artifact(package: str, name: str) -> dict[str, Any]:
    """ABI and bytecode from @uniswap/v2-core or @uniswap/v2-periphery build/NAME.json."""
    for base in node_modules_candidates():
        path = base / "@uniswap" / package / "build" / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            bytecode = data.get("bytecode") or data.get("evm", {}).get("bytecode", {}).get("object")
            if not bytecode.startswith("0x"):
                bytecode = "0x" + bytecode
            return {"abi": data["abi"], "bytecode": bytecode}
    raise UserError(f"The Uniswap v2 contracts (@uniswap/{package}) are not installed: {INSTALL_HINT}.")


@cache
def test_token_artifact(strict_approval: bool = False) -> dict[str, Any]:
    """Our own ERC-20 (TestToken.sol), compiled once and committed beside its source;
    `strict_approval` gives its USDT-like variant (StrictApprovalToken)."""
    name = "StrictApprovalToken" if strict_approval else "TestToken"
    data = json.loads((CONTRACTS_DIR / f"{name}.json").read_text())
    return {"abi": data["abi"], "bytecode": data["bytecode"]}
