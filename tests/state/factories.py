"""Small builders for domain-model tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, native_token
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
USDC = AssetIdentifier(chain_id=31337, address="0x" + "11" * 20, symbol="USDC", decimals=6)
WETH = AssetIdentifier(chain_id=31337, address="0x" + "22" * 20, symbol="WETH", decimals=18)
ETH = native_token(31337)
WETH_USDC = TradingPairIdentifier(base=WETH, quote=USDC, pool_address="0x" + "33" * 20, exchange_slug="test")


def hours(n: float) -> datetime.timedelta:
    return datetime.timedelta(hours=n)


def funded_state(cash: Decimal = Decimal(10_000), gas: Decimal = Decimal(1)) -> State:
    state = State(strategy_id="test", created_at=T0, last_updated_at=T0)
    state.record_deposit(USDC, USDC.to_raw(cash), T0, reason="initial")
    state.record_deposit(ETH, ETH.to_raw(gas), T0, role=ReserveRole.gas, reason="initial")
    return state


def ledger_matches_holdings(state: State) -> bool:
    held = {k: v for k, v in state.portfolio.held_balances_raw().items() if v}
    ledger = {k: v for k, v in state.ledger.balances().items() if v}
    return held == ledger


def swap_transaction(n: int, at: datetime.datetime, *, nonce: int) -> BlockchainTransaction:
    """A mined router swap as the live execution records it (hash, nonce, gas, block...)."""
    return BlockchainTransaction(
        tx_hash=f"0x{n * 7919 + 1:064x}",
        chain_id=31337,
        from_address="0x" + "ab" * 20,
        to_address="0x" + "cd" * 20,
        nonce=nonce,
        gas_limit=250_000,
        signed_at=at,
        function="swapExactTokensForTokens",
        details={
            "amountIn": str(10**21 + n),
            "amountOutMin": str(10**20),
            "path": "USDC,WETH",
            "deadline": str(1_700_000_000 + n),
        },
        max_fee_per_gas=30 * 10**9,
        max_priority_fee_per_gas=10**9,
        status=TxStatus.success,
        broadcast_at=at,
        confirmed_at=at + datetime.timedelta(seconds=12),
        block_number=1_000 + nonce,
        block_hash=f"0x{nonce * 31 + 7:064x}",
        gas_used=120_000 + n % 1_000,
        effective_gas_price=20 * 10**9 + n,
    )


def many_closed_positions(count: int) -> State:
    """A long-running executor's state: `count` closed round trips (a buy and a sell, each with
    one mined swap, its fills and gas booked in the ledger).

    Built directly rather than through plan_trade, whose free-cash check walks every position
    (quadratic at 100,000 positions); the bookings mirror State.settle_trade_success and use
    the real book_gas_fee, and the result passes the integrity check.
    """
    state = funded_state(cash=Decimal(10**9), gas=Decimal(10**6))
    portfolio = state.portfolio
    usdc = portfolio.reserves[USDC.key]
    for i in range(count):
        at = T0 + datetime.timedelta(minutes=i)
        position = TradingPosition(
            position_id=portfolio.next_position_id,
            pair=WETH_USDC,
            opened_at=at,
            status=PositionStatus.closed,
            closed_at=at + datetime.timedelta(minutes=30),
            stop_loss_pct=Decimal("0.95"),
            stop_loss=Decimal("1900.117283950617283950"),
            last_token_price=Decimal("2001.123456789"),
            last_pricing_at=at + datetime.timedelta(minutes=30),
        )
        portfolio.next_position_id += 1
        quantity = 5 * 10**17 + i
        for side in (1, -1):
            trade_at = at + datetime.timedelta(minutes=0 if side > 0 else 30)
            trade = TradeExecution(
                trade_id=portfolio.next_trade_id,
                position_id=position.position_id,
                pair=WETH_USDC,
                reserve_currency=USDC,
                planned_at=trade_at,
                planned_quantity=Decimal("0.5") * side,
                planned_reserve=Decimal("1000.00"),
                planned_price=Decimal("2000.00"),
                slippage_tolerance_bps=50,
            )
            portfolio.next_trade_id += 1
            position.trades[trade.trade_id] = trade
            tx = swap_transaction(trade.trade_id, trade_at, nonce=trade.trade_id)
            trade.blockchain_transactions.append(tx)
            trade.mark_started(trade_at)
            trade.mark_broadcast(trade_at)
            reserve_raw = 1000 * 10**6 + (i if side < 0 else 0)
            trade.mark_success(
                trade_at + datetime.timedelta(seconds=12),
                executed_quantity_raw=quantity * side,
                executed_reserve_raw=reserve_raw,
                executed_price=Decimal("2000.123456789012345678"),
                lp_fees_reserve=Decimal("3.000000"),
            )
            usdc.quantity_raw -= reserve_raw * side
            state.ledger.append(
                LedgerKind.trade,
                USDC,
                -reserve_raw * side,
                trade_at,
                trade_id=trade.trade_id,
                position_id=position.position_id,
            )
            state.ledger.append(
                LedgerKind.trade,
                WETH,
                quantity * side,
                trade_at,
                trade_id=trade.trade_id,
                position_id=position.position_id,
            )
            state.book_gas_fee(tx, trade_at, trade=trade, native_price_in_reserve=Decimal(2000))
        portfolio.closed_positions[position.position_id] = position
    return state


def edit_archive(  # type: ignore[no-untyped-def]
    data: bytes, edit, *, key: str, summary_type: type, field: str, reseal: bool = True
) -> bytes:
    """The state file `data` with `edit` applied to its `key` archive records (as plain JSON).
    `reseal` recomputes their checksums, as a buggy writer would: only the integrity check
    or the first read can then notice the edit."""
    import msgspec

    from tradeexecutor.state.archive import checksum

    document = msgspec.json.decode(data)
    edit(document[key])
    if reseal:
        for record in document[key]:
            summary = summary_type(**{k: v for k, v in record.items() if k != field})
            record["crc32"] = checksum(summary, msgspec.json.encode(record[field]))
    return msgspec.json.encode(document)
