"""OHLCV candles built from the pools' own Swap events, cached and scanned incrementally.

No market data service is needed: `eth_getLogs` gives every Swap of a pool; each becomes a
trade with a price (quote per base, human units, from the pool's token0/token1 orientation
and the tokens' decimals); trades are bucketed into candles. Nodes cap how much one
`eth_getLogs` may return, so the block range per call shrinks when a node says "too many
results" and grows back while answers are small.

Cache layout under `cache_dir` (default `cache/onchain-candles/`), per pair and time bucket:
`<chain>-<pool>-<bucket>.parquet` holds the candles and, in its metadata, the last block
they include; `<same>.json` records the scan progress for people and tools. The Parquet
file is replaced atomically and is the source of truth, so a crash between the two writes
never counts a block twice. A later scan reads only blocks after the last scanned one and
merges its first candle into the last cached one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from web3 import Web3
from web3.exceptions import Web3RPCError

from tradeexecutor.ethereum.batch import batch_rpc
from tradeexecutor.state.filewrite import replacing, write_atomic
from tradeexecutor.state.identifiers import TradingPairIdentifier, address_key

logger = logging.getLogger(__name__)

SWAP_TOPIC = "0x" + Web3.keccak(
    text="Swap(address,uint256,uint256,uint256,uint256,address)"
).hex().removeprefix("0x")
COLUMNS = ["open", "high", "low", "close", "volume"]
FORMAT = "trade-executor/onchain-candles/1"
_TOO_MANY = (
    "too many",
    "more than",
    "limit exceeded",
    "response size",
    "block range",
    "range is too",
    "range too",
    "exceed",
)
_BLOCK_CACHE_SIZE = 100_000


def is_too_many_results(error: BaseException) -> bool:
    text = str(error).lower()
    return any(marker in text for marker in _TOO_MANY)


@dataclass
class ScanStats:
    from_block: int = 0
    to_block: int = 0
    get_logs_calls: int = 0
    shrinks: int = 0
    swaps: int = 0
    block_timestamp_fetches: int = 0


def empty_candles() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64") for c in COLUMNS},
        index=pd.DatetimeIndex([], tz="UTC", name="timestamp"),
    )


def swaps_to_trades(
    pair: TradingPairIdentifier, logs: Sequence[dict[str, Any]], timestamps: dict[int, int]
) -> pd.DataFrame:
    """Swap logs -> one row per trade: timestamp, price (quote per base) and quote volume."""
    base_is_token0 = address_key(pair.base.address) < address_key(pair.quote.address)
    base_scale = Decimal(10) ** pair.base.decimals
    quote_scale = Decimal(10) ** pair.quote.decimals
    rows = []
    for log in logs:
        data = bytes(log["data"]) if not isinstance(log["data"], str) else bytes.fromhex(log["data"][2:])
        a0_in, a1_in, a0_out, a1_out = (int.from_bytes(data[i : i + 32], "big") for i in range(0, 128, 32))
        base_net = (a0_out - a0_in) if base_is_token0 else (a1_out - a1_in)  # + : trader bought base
        quote_net = (a1_in - a1_out) if base_is_token0 else (a0_in - a0_out)
        if base_net == 0 or quote_net == 0:
            continue
        quote = Decimal(abs(quote_net)) / quote_scale
        price = quote / (Decimal(abs(base_net)) / base_scale)
        block = _int(log["blockNumber"])
        rows.append((timestamps[block], block, _int(log["logIndex"]), float(price), float(quote)))
    frame = pd.DataFrame(rows, columns=["ts", "block", "log_index", "price", "volume"])
    frame = frame.sort_values(["block", "log_index"], kind="stable")
    frame["timestamp"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    return frame


def trades_to_candles(trades: pd.DataFrame, time_bucket: pd.Timedelta) -> pd.DataFrame:
    if trades.empty:
        return empty_candles()
    bucket = trades["timestamp"].dt.floor(time_bucket)
    candles = trades.groupby(bucket, sort=True).agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("volume", "sum"),
    )
    candles.index.name = "timestamp"
    return candles


def merge_candles(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Append newer candles; a bucket present in both gets old open, new close, summed volume."""
    if old.empty:
        return new
    if new.empty:
        return old
    both = pd.concat([old, new])
    merged = both.groupby(level=0, sort=True).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    merged.index.name = "timestamp"
    return merged


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class OnchainCandleSource:
    """Candles for a set of pairs, kept up to date from the chain's Swap events."""

    def __init__(
        self,
        web3: Web3,
        pairs: Sequence[TradingPairIdentifier],
        cache_dir: Path = Path("cache/onchain-candles"),
        time_bucket: str | pd.Timedelta = "1h",
        start_block: int = 0,
        chunk_size: int = 2_000,
        max_chunk_size: int = 50_000,
        save_every_chunks: int = 50,
    ) -> None:
        self.web3 = web3
        self.pairs = list(pairs)
        self.cache_dir = Path(cache_dir)
        self.time_bucket = pd.Timedelta(time_bucket)
        self.bucket_label = (
            str(time_bucket) if isinstance(time_bucket, str) else f"{int(self.time_bucket.total_seconds())}s"
        )
        self.start_block = start_block
        self.chunk_size = chunk_size
        self.max_chunk_size = max_chunk_size
        self.save_every_chunks = save_every_chunks
        self._timestamps: dict[int, int] = {}
        self.stats = ScanStats()

    # --- cache files --------------------------------------------------------------------------

    def _stem(self, pair: TradingPairIdentifier) -> Path:
        return self.cache_dir / f"{pair.chain_id}-{address_key(pair.pool_address)}-{self.bucket_label}"

    def load(self, pair: TradingPairIdentifier) -> tuple[pd.DataFrame, int]:
        """Cached candles and the last block they include (start_block - 1 when nothing is cached)."""
        path = self._stem(pair).with_suffix(".parquet")
        if not path.exists():
            return empty_candles(), self.start_block - 1
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        last = int(meta.get(b"last_scanned_block", self.start_block - 1))
        frame = table.to_pandas()
        frame.index = pd.DatetimeIndex(frame.index, name="timestamp").tz_convert("UTC")
        return frame[COLUMNS], last

    def save(self, pair: TradingPairIdentifier, candles: pd.DataFrame, last_block: int) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        stem = self._stem(pair)
        table = pa.Table.from_pandas(candles, preserve_index=True)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"last_scanned_block": str(last_block).encode()}
        )
        with replacing(stem.with_suffix(".parquet")) as tmp:
            pq.write_table(table, tmp)
        progress = {
            "format": FORMAT,
            "pair": pair.ticker,
            "pool": pair.pool_address,
            "chain_id": pair.chain_id,
            "time_bucket": self.bucket_label,
            "last_scanned_block": last_block,
            "candles": len(candles),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        write_atomic(stem.with_suffix(".json"), (json.dumps(progress, indent=2) + "\n").encode())

    # --- scanning -----------------------------------------------------------------------------

    def candles(self) -> dict[str, pd.DataFrame]:
        """What the cache holds, without touching the chain."""
        return {p.key: self.load(p)[0] for p in self.pairs}

    def scan(self, to_block: int | None = None) -> dict[str, pd.DataFrame]:
        """Bring every pair's candles up to `to_block` (default: latest) and return them by pair key."""
        to_block = self.web3.eth.block_number if to_block is None else to_block
        self.stats = ScanStats(to_block=to_block)
        state = {p.key: self.load(p) for p in self.pairs}
        groups: dict[int, list[TradingPairIdentifier]] = {}
        for pair in self.pairs:
            groups.setdefault(state[pair.key][1] + 1, []).append(pair)
        self.stats.from_block = min(groups) if groups else to_block + 1
        for from_block, group in sorted(groups.items()):
            if from_block <= to_block:
                self._scan_group(group, from_block, to_block, state)
        return {key: candles for key, (candles, _) in state.items()}

    def _scan_group(
        self,
        group: list[TradingPairIdentifier],
        from_block: int,
        to_block: int,
        state: dict[str, tuple[pd.DataFrame, int]],
    ) -> None:
        by_pool = {address_key(p.pool_address): p for p in group}
        pending: dict[str, list[dict[str, Any]]] = {k: [] for k in by_pool}
        chunk = self.chunk_size
        start = from_block
        chunks_since_save = 0
        while start <= to_block:
            end = min(start + chunk - 1, to_block)
            try:
                logs = self._get_logs(list(by_pool), start, end)
            except Web3RPCError as e:
                if is_too_many_results(e) and chunk > 1:
                    chunk = max(1, chunk // 2)
                    self.stats.shrinks += 1
                    logger.info("eth_getLogs range too large, scanning %d blocks at a time", chunk)
                    continue
                raise
            for log in logs:
                pending[address_key(log["address"])].append(log)
            self.stats.swaps += len(logs)
            start = end + 1
            chunks_since_save += 1
            if len(logs) < 1_000:
                chunk = min(chunk * 2, self.max_chunk_size)
            if chunks_since_save >= self.save_every_chunks or start > to_block:
                self._commit(by_pool, pending, end, state)
                pending = {k: [] for k in by_pool}
                chunks_since_save = 0

    def _commit(
        self,
        by_pool: dict[str, TradingPairIdentifier],
        pending: dict[str, list[dict[str, Any]]],
        last_block: int,
        state: dict[str, tuple[pd.DataFrame, int]],
    ) -> None:
        timestamps = self.block_timestamps(
            {_int(log["blockNumber"]) for logs in pending.values() for log in logs}
        )
        for pool, pair in by_pool.items():
            new = trades_to_candles(swaps_to_trades(pair, pending[pool], timestamps), self.time_bucket)
            merged = merge_candles(state[pair.key][0], new)
            self.save(pair, merged, last_block)
            state[pair.key] = (merged, last_block)

    def _get_logs(self, pools: list[str], start: int, end: int) -> list[dict[str, Any]]:
        self.stats.get_logs_calls += 1
        response = self.web3.provider.make_request(
            "eth_getLogs",  # type: ignore[arg-type]
            [{"fromBlock": hex(start), "toBlock": hex(end), "address": pools, "topics": [SWAP_TOPIC]}],
        )
        if "error" in response:
            error = response["error"]
            raise Web3RPCError(
                str(error.get("message", error) if isinstance(error, dict) else error), rpc_response=response
            )
        return [log for log in response["result"] if not log.get("removed")]

    def block_timestamps(self, blocks: set[int]) -> dict[int, int]:
        """Unix timestamps of blocks, fetched in batches and remembered."""
        missing = sorted(b for b in blocks if b not in self._timestamps)
        if missing:
            self.stats.block_timestamp_fetches += len(missing)
            results = batch_rpc(self.web3, [("eth_getBlockByNumber", [hex(b), False]) for b in missing])
            for number, block in zip(missing, results, strict=True):
                self._timestamps[number] = _int(block["timestamp"])
        found = {b: self._timestamps[b] for b in blocks}
        if len(self._timestamps) > _BLOCK_CACHE_SIZE:
            for old in sorted(self._timestamps)[: len(self._timestamps) - _BLOCK_CACHE_SIZE]:
                del self._timestamps[old]
        return found
