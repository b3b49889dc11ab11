"""The verdict of a chaos scenario, from the chain: every swap the wallet made, matched trade by
trade with the state file; the wallet's balances against the books."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.devchain.chaos.lane import SWAP_FUNCTION, TRANSFER_TOPIC, Lane


@dataclass
class Verification:
    """The chain against the state, for one wallet."""

    swaps_on_chain: int = 0
    trades_booked: int = 0
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChainSwap:
    """A successful router swap of the wallet, as its ERC-20 Transfer logs tell it."""

    tx_hash: str
    ticker: str  # e.g. WETH-USDC
    side: str  # buy | sell
    base_raw: int
    usdc_raw: int


def verify_wallet(lane: Lane, wallet: str, state_file: Path, from_block: int) -> Verification:
    """Compare the wallet's swaps on chain with the state, trade by trade (see the package docstring)."""
    from tradeexecutor.state.store import JSONFileStore

    v = Verification()
    swaps = chain_swaps(lane, wallet, from_block, v)
    with JSONFileStore(state_file, read_only=True) as store:
        state = store.load()
    booked = booked_swaps(state, v)
    _match(swaps, booked, v)
    _books_against_wallet(lane, state, wallet, v)
    return v


def chain_swaps(lane: Lane, wallet: str, from_block: int, v: Verification) -> dict[str, ChainSwap]:
    """Every successful router swap the wallet sent since `from_block`, by transaction hash; counts
    two swaps in a row in the same direction on a pair as duplicated (the strategy alternates)."""
    assert lane.web3 is not None and lane.deployment is not None
    d = lane.deployment
    symbols = {t.address.lower(): s for s, t in d.tokens.items()} | {d.weth.lower(): "WETH"}
    swaps: dict[str, ChainSwap] = {}
    for tx in lane.wallet_transactions(wallet, from_block):
        if tx["to"] is None or tx["to"].lower() != d.router.lower():
            continue
        receipt = lane.web3.eth.get_transaction_receipt(tx["hash"])
        if receipt["status"] != 1:
            continue
        sent, received = _transfers(receipt, wallet, symbols)
        if "USDC" in sent and received:
            base = next(iter(received))
            swap = ChainSwap(tx["hash"].lower(), f"{base}-USDC", "buy", received[base], sent["USDC"])
        elif "USDC" in received and sent:
            base = next(iter(sent))
            swap = ChainSwap(tx["hash"].lower(), f"{base}-USDC", "sell", sent[base], received["USDC"])
        else:
            v.problems.append(f"swap {tx['hash']} moved {sent} -> {received}")
            continue
        swaps[swap.tx_hash] = swap
    v.swaps_on_chain = len(swaps)
    last_side: dict[str, str] = {}
    for swap in swaps.values():  # in chain order
        if last_side.get(swap.ticker) == swap.side:
            v.duplicated += 1
            v.problems.append(f"{swap.ticker}: two {swap.side}s in a row on chain ({swap.tx_hash})")
        last_side[swap.ticker] = swap.side
    return swaps


def _transfers(receipt: Any, wallet: str, symbols: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """(sent, received) raw amounts per token symbol, from the receipt's ERC-20 Transfer logs."""
    sent: dict[str, int] = {}
    received: dict[str, int] = {}
    for log in receipt["logs"]:
        topics = log["topics"]
        token = symbols.get(log["address"].lower())
        if token is None or len(topics) < 3 or topics[0].to_0x_hex() != TRANSFER_TOPIC:
            continue
        amount = int.from_bytes(bytes(log["data"]), "big")
        if ("0x" + topics[1].hex()[-40:]).lower() == wallet.lower():
            sent[token] = sent.get(token, 0) + amount
        if ("0x" + topics[2].hex()[-40:]).lower() == wallet.lower():
            received[token] = received.get(token, 0) + amount
    return sent, received


def booked_swaps(state: Any, v: Verification) -> dict[str, Any]:
    """The executed trades of the state by the hash of their one mined swap; a trade still
    unfinished at the end counts as lost, a swap booked twice as duplicated."""
    from tradeexecutor.state.trade import TradeStatus

    booked: dict[str, Any] = {}
    for trade in state.portfolio.all_trades():
        if trade.status in (TradeStatus.planned, TradeStatus.started, TradeStatus.broadcast):
            v.lost += 1
            v.problems.append(f"trade #{trade.trade_id} is still {trade.status} at the end")
            continue
        if trade.status != TradeStatus.success:
            continue
        mined = [
            tx
            for tx in trade.blockchain_transactions
            if tx.function == SWAP_FUNCTION and tx.status == "success"
        ]
        if len(mined) != 1:
            v.lost += 1
            v.problems.append(f"trade #{trade.trade_id} is booked executed with {len(mined)} mined swaps")
            continue
        h = mined[0].tx_hash.lower()
        if h in booked:
            v.duplicated += 1
            v.problems.append(f"swap {h} is booked by trades #{booked[h].trade_id} and #{trade.trade_id}")
            continue
        booked[h] = trade
    v.trades_booked = len(booked)
    return booked


def _match(swaps: dict[str, ChainSwap], booked: dict[str, Any], v: Verification) -> None:
    """Each swap on chain is one booked trade with the same pair, side and amounts, and back."""
    for h, swap in swaps.items():
        trade = booked.get(h)
        if trade is None:
            v.lost += 1
            v.problems.append(f"{swap.side} of {swap.ticker} {h} is on chain but no trade books it")
            continue
        expected = (
            trade.pair.ticker,
            "buy" if trade.is_buy else "sell",
            abs(trade.executed_quantity_raw),
            trade.executed_reserve_raw,
        )
        actual = (swap.ticker, swap.side, swap.base_raw, swap.usdc_raw)
        if expected != actual:
            v.lost += 1
            v.problems.append(f"trade #{trade.trade_id} books {expected}, the chain says {actual}")
    for h, trade in booked.items():
        if h not in swaps:
            v.lost += 1
            v.problems.append(
                f"trade #{trade.trade_id} is booked with swap {h}, which is not a swap on chain"
            )


def _books_against_wallet(lane: Lane, state: Any, wallet: str, v: Verification) -> None:
    """The reserve, every open position's token and the gas money equal the wallet's balances."""
    from tradeexecutor.ethereum.erc20 import balance_of

    assert lane.web3 is not None
    web3 = lane.web3
    checks = [
        ("reserve", state.portfolio.reserve_holding().quantity_raw, state.portfolio.reserve_holding().asset)
    ]
    held = state.portfolio.held_balances_raw()
    for position in state.portfolio.open_positions.values():
        base = position.pair.base
        if base.key in held and all(c[2] != base for c in checks):
            checks.append((base.symbol, held[base.key], base))
    for label, booked, asset in checks:
        on_chain = balance_of(web3, asset, wallet)
        if booked != on_chain:
            v.lost += 1
            v.problems.append(f"{label}: the state books {booked}, the wallet holds {on_chain}")
    gas, on_chain = (
        state.portfolio.gas_holding().quantity_raw,
        web3.eth.get_balance(web3.to_checksum_address(wallet)),
    )
    if gas != on_chain:
        v.lost += 1
        v.problems.append(f"gas: the state books {gas}, the wallet holds {on_chain}")


def closed_by_stop_loss(state_file: Path, ticker: str) -> bool:
    from tradeexecutor.state.store import JSONFileStore

    with JSONFileStore(state_file, read_only=True) as store:
        state = store.load()
    return any(
        t.trade_type.value == "stop_loss" and t.status == "success" and t.pair.ticker == ticker
        for t in state.portfolio.all_trades()
    )


def stop_loss_sold(lane: Lane, wallet: str, from_block: int) -> bool:
    """The wallet has sold WETH on chain (the stop loss acted)."""
    assert lane.deployment is not None and lane.web3 is not None
    weth = lane.deployment.weth.lower()
    for tx in lane.wallet_transactions(wallet, from_block):
        if tx["to"] is None or tx["to"].lower() != lane.deployment.router.lower():
            continue
        receipt = lane.web3.eth.get_transaction_receipt(tx["hash"])
        if receipt["status"] != 1:
            continue
        for log in receipt["logs"]:
            topics = log["topics"]
            if (
                log["address"].lower() == weth
                and topics[0].to_0x_hex() == TRANSFER_TOPIC
                and ("0x" + topics[1].hex()[-40:]).lower() == wallet.lower()
            ):
                return True
    return False
