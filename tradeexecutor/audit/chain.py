"""What the audits ask the chain, batched and pinned to one block.

Every read of one audit run is made at the same block, so balances, logs and the nonce
describe one moment. Receipts are fetched in JSON-RPC batches and normalised just enough
for the Uniswap v2 Swap decoder (`ethereum/uniswap_v2/execution.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from hexbytes import HexBytes
from web3 import Web3

from tradeexecutor.ethereum.batch import batch_rpc
from tradeexecutor.state.identifiers import NATIVE_TOKEN_ADDRESS, AssetIdentifier, address_key

BALANCE_OF_SELECTOR = "0x70a08231"
SWAP_TOPIC = Web3.keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").to_0x_hex()
LOG_BLOCK_CHUNK = 10_000  # many public nodes cap eth_getLogs ranges


def is_native(asset: AssetIdentifier) -> bool:
    return address_key(asset.address) == NATIVE_TOKEN_ADDRESS


def read_balances(web3: Web3, wallet: str, assets: Sequence[AssetIdentifier], block: int) -> dict[str, int]:
    """Raw balance of every asset (ERC-20 or the native token) held by `wallet` at `block`."""
    calls: list[tuple[str, list[Any]]] = []
    for asset in assets:
        if is_native(asset):
            calls.append(("eth_getBalance", [wallet, hex(block)]))
        else:
            data = BALANCE_OF_SELECTOR + abi_encode(["address"], [wallet]).hex()
            calls.append(("eth_call", [{"to": asset.address, "data": data}, hex(block)]))
    results = batch_rpc(web3, calls)
    balances: dict[str, int] = {}
    for asset, result in zip(assets, results, strict=True):
        if is_native(asset):
            balances[asset.key] = int(result, 16)
        else:
            (balances[asset.key],) = abi_decode(["uint256"], bytes.fromhex(result.removeprefix("0x")))
    return balances


def _int(value: Any) -> int | None:
    if value is None:
        return None
    return int(value, 16) if isinstance(value, str) else int(value)


def normalise_receipt(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw JSON receipt with the fields the audits and the Swap decoder read as Python types."""
    logs = [
        {
            **log,
            "address": Web3.to_checksum_address(log["address"]),
            "topics": [HexBytes(t) for t in log["topics"]],
            "data": HexBytes(log["data"]),
            "logIndex": _int(log.get("logIndex")),
            "transactionIndex": _int(log.get("transactionIndex")),
            "blockNumber": _int(log.get("blockNumber")),
            "transactionHash": HexBytes(log["transactionHash"]),
            "blockHash": HexBytes(log["blockHash"]),
        }
        for log in raw.get("logs", [])
    ]
    return {
        **raw,
        "transactionHash": HexBytes(raw["transactionHash"]),
        "blockNumber": _int(raw["blockNumber"]),
        "blockHash": raw["blockHash"],
        "status": _int(raw.get("status")),
        "gasUsed": _int(raw.get("gasUsed")),
        "effectiveGasPrice": _int(raw.get("effectiveGasPrice")),
        "from": Web3.to_checksum_address(raw["from"]),
        "logs": logs,
    }


class ReceiptCache:
    """Receipts of one audit run, fetched once in batches and shared by the audits."""

    def __init__(self, web3: Web3) -> None:
        self.web3 = web3
        self._receipts: dict[str, dict[str, Any] | None] = {}

    def prefetch(self, tx_hashes: Iterable[str]) -> None:
        wanted = [h for h in dict.fromkeys(h.lower() for h in tx_hashes) if h not in self._receipts]
        if not wanted:
            return
        results = batch_rpc(self.web3, [("eth_getTransactionReceipt", [h]) for h in wanted])
        for tx_hash, raw in zip(wanted, results, strict=True):
            self._receipts[tx_hash] = normalise_receipt(raw) if raw else None

    def get(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt, or None when the chain has no such mined transaction."""
        self.prefetch([tx_hash])
        return self._receipts[tx_hash.lower()]


def transaction_count(web3: Web3, wallet: str, block: int) -> int:
    """How many transactions `wallet` had mined up to and including `block` (its next nonce)."""
    (result,) = batch_rpc(web3, [("eth_getTransactionCount", [wallet, hex(block)])])
    return int(result, 16)


def wallet_swap_logs(
    web3: Web3, pools: Sequence[str], wallet: str, from_block: int, to_block: int
) -> list[dict[str, Any]]:
    """Swap events of `pools` whose recipient (`to`) or sender is `wallet`, oldest first.

    Both are indexed topics, and a filter cannot OR across positions: one query each, in
    the same batch. The sender is the router for router swaps, the wallet itself for a
    swap called on the pair directly (bypassing the router)."""
    if not pools or from_block > to_block:
        return []
    topic = "0x" + "00" * 12 + wallet.lower().removeprefix("0x")
    addresses = [Web3.to_checksum_address(p) for p in pools]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    start = from_block
    while start <= to_block:
        end = min(to_block, start + LOG_BLOCK_CHUNK - 1)
        window = {"address": addresses, "fromBlock": hex(start), "toBlock": hex(end)}
        calls = [
            ("eth_getLogs", [{**window, "topics": [SWAP_TOPIC, None, topic]}]),
            ("eth_getLogs", [{**window, "topics": [SWAP_TOPIC, topic]}]),
        ]
        for logs in batch_rpc(web3, calls):
            for log in logs:
                found[(log["transactionHash"], log["logIndex"])] = log
        start = end + 1
    return sorted(found.values(), key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))


def sender_of(web3: Web3, tx_hash: str) -> str | None:
    (tx,) = batch_rpc(web3, [("eth_getTransactionByHash", [tx_hash])])
    return Web3.to_checksum_address(tx["from"]) if tx else None


def find_transaction_by_nonce(
    web3: Web3, wallet: str, nonce: int, low_block: int, high_block: int
) -> str | None:
    """The hash of the wallet's transaction with `nonce`, mined between the two blocks.

    Binary search on the account's transaction count (about log2(blocks) calls), then one
    block read. Needs historical state (an archive node for old blocks); returns None when
    the node cannot answer, so the caller still reports the nonce without its hash.
    """
    try:
        low, high = max(low_block, 0), high_block
        if transaction_count(web3, wallet, high) <= nonce:
            return None
        # the first block at whose end the count exceeds `nonce` mined the transaction
        while low < high:
            middle = (low + high) // 2
            if transaction_count(web3, wallet, middle) > nonce:
                high = middle
            else:
                low = middle + 1
        (block,) = batch_rpc(web3, [("eth_getBlockByNumber", [hex(low), True])])
    except Exception:  # pruned history or a node that refuses: report the nonce without a hash
        return None
    for tx in (block or {}).get("transactions", []):
        if address_key(tx["from"]) == address_key(wallet) and int(tx["nonce"], 16) == nonce:
            return HexBytes(tx["hash"]).to_0x_hex()
    return None
