"""Minimal ABIs for the contracts the executor calls, written as Solidity signatures.

The live executor must not depend on node_modules (the Docker image has none), and it
only needs a handful of functions and events, so we declare exactly those here. The
devchain deploys from the full npm artifacts; tests check these fragments against them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_SIG = re.compile(
    r"^(?P<kind>function|event)\s+(?P<name>\w+)\((?P<inputs>[^)]*)\)"
    r"(?P<mods>[\w\s]*?)(?:\s*returns\s*\((?P<outputs>[^)]*)\))?\s*$"
)


def _params(text: str, event: bool) -> list[dict[str, Any]]:
    params = []
    for i, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        words = part.split()
        entry: dict[str, Any] = {"type": words[0], "name": words[-1] if len(words) > 1 else f"arg{i}"}
        if event:
            entry["indexed"] = "indexed" in words[1:]
            if entry["name"] == "indexed":
                entry["name"] = f"arg{i}"
        params.append(entry)
    return params


def parse_signature(sig: str) -> dict[str, Any]:
    """`function balanceOf(address owner) view returns (uint256)` -> ABI entry."""
    m = _SIG.match(sig.strip())
    if not m:
        raise ValueError(f"Unparseable ABI signature: {sig}")
    if m["kind"] == "event":
        return {"type": "event", "name": m["name"], "anonymous": False, "inputs": _params(m["inputs"], True)}
    mods = m["mods"].split()
    mutability = next((x for x in ("view", "pure", "payable") if x in mods), "nonpayable")
    return {
        "type": "function",
        "name": m["name"],
        "inputs": _params(m["inputs"], False),
        "outputs": _params(m["outputs"] or "", False),
        "stateMutability": mutability,
    }


ERC20 = (
    "function name() view returns (string)",
    "function symbol() view returns (string)",
    "function decimals() view returns (uint8)",
    "function totalSupply() view returns (uint256)",
    "function balanceOf(address owner) view returns (uint256)",
    "function allowance(address owner, address spender) view returns (uint256)",
    "function approve(address spender, uint256 amount) returns (bool)",
    "function transfer(address to, uint256 amount) returns (bool)",
    "function transferFrom(address from, address to, uint256 amount) returns (bool)",
    "event Transfer(address indexed from, address indexed to, uint256 value)",
    "event Approval(address indexed owner, address indexed spender, uint256 value)",
)

WETH = ERC20 + (
    "function deposit() payable",
    "function withdraw(uint256 wad)",
)

UNISWAP_V2_PAIR = ERC20 + (
    "function token0() view returns (address)",
    "function token1() view returns (address)",
    "function factory() view returns (address)",
    "function getReserves() view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast)",
    "function price0CumulativeLast() view returns (uint256)",
    "function price1CumulativeLast() view returns (uint256)",
    "function sync()",
    "event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)",
    "event Sync(uint112 reserve0, uint112 reserve1)",
)

UNISWAP_V2_FACTORY = (
    "function getPair(address tokenA, address tokenB) view returns (address pair)",
    "function allPairsLength() view returns (uint256)",
    "function allPairs(uint256 index) view returns (address pair)",
    "function createPair(address tokenA, address tokenB) returns (address pair)",
    "event PairCreated(address indexed token0, address indexed token1, address pair, uint256 index)",
)

UNISWAP_V2_ROUTER = (
    "function factory() view returns (address)",
    "function WETH() view returns (address)",
    "function getAmountsOut(uint256 amountIn, address[] path) view returns (uint256[] amounts)",
    "function getAmountsIn(uint256 amountOut, address[] path) view returns (uint256[] amounts)",
    "function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline) returns (uint256[] amounts)",
    "function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] path, address to, uint256 deadline) returns (uint256[] amounts)",
    "function addLiquidity(address tokenA, address tokenB, uint256 amountADesired, uint256 amountBDesired, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline) returns (uint256 amountA, uint256 amountB, uint256 liquidity)",
)


@cache
def abi(signatures: tuple[str, ...]) -> list[dict[str, Any]]:
    return [parse_signature(s) for s in signatures]
