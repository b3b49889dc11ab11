"""Ledger audit: the state adds up, and every trade's booked amounts are what the chain says.

Inside the state (every run, the whole history: cheap):

- for every asset, the ledger's entries (trades, gas fees, deposits, withdrawals, drift)
  sum to the balance the state holds (reserves plus open and frozen positions);
- every successful trade has `trade` ledger entries equal to its executed amounts (base
  token in or out, reserve out or in), and a trade that did not succeed has none;
- every booked gas fee has its `gas_fee` entry, equal to the transaction's fee.

Against the chain (trades with transactions mined since the last audit; all of them for
`trade-executor audit`): each mined transaction's receipt is fetched again, its gas fee
must equal the one booked, and a successful trade's executed amounts must equal what the
pools' Swap events in its swap receipt say went in and came out (decoded as the execution
model does, over the pair's route: one pool, or two through an intermediate token).
"""

from __future__ import annotations

from collections import defaultdict

from tradeexecutor.audit.context import MINED, AuditContext
from tradeexecutor.audit.model import AuditSection, AuditType
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.gas import human
from tradeexecutor.ethereum.uniswap_v2.execution import decode_swap_amounts, swap_events
from tradeexecutor.ethereum.uniswap_v2.routing import TradeSide
from tradeexecutor.execution.live.transactions import SWAP_FUNCTION
from tradeexecutor.state.identifiers import AssetIdentifier, address_key
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.state.transaction import TxStatus


def _asset(state: State, key: str) -> AssetIdentifier | None:
    asset = state.ledger.assets.get(key)
    if asset is not None:
        return asset
    if key in state.portfolio.reserves:
        return state.portfolio.reserves[key].asset
    return next((p.pair.base for p in state.portfolio.all_positions() if p.pair.base.key == key), None)


def _name(state: State, key: str) -> str:
    asset = _asset(state, key)
    return f"{asset.symbol} ({key})" if asset is not None else key


def _amount(asset: AssetIdentifier, raw: int) -> str:
    return f"{human(asset.to_decimal(raw))} {asset.symbol}"


def check_sums(state: State, section: AuditSection) -> None:
    held = state.portfolio.held_balances_raw()
    totals = state.ledger.balances()
    for key in sorted(held.keys() | totals.keys()):
        in_ledger, in_state = totals.get(key, 0), held.get(key, 0)
        if in_ledger != in_state:
            section.fail(
                f"{_name(state, key)}: the ledger entries sum to {in_ledger} raw units but the state holds "
                f"{in_state} ({in_ledger - in_state:+d})",
                asset_key=key,
            )
        else:
            section.checked.append(f"{_name(state, key)}: ledger sum {in_ledger} = held")


def check_trade_entries(state: State, section: AuditSection) -> None:
    by_trade: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gas_by_tx: dict[str, int] = defaultdict(int)
    for entry in state.ledger.entries:
        if entry.kind == LedgerKind.trade and entry.trade_id is not None:
            by_trade[entry.trade_id][entry.asset_key] += entry.amount_raw
        elif entry.kind == LedgerKind.gas_fee and entry.tx_hash is not None:
            gas_by_tx[entry.tx_hash.lower()] += entry.amount_raw
    for trade in state.portfolio.all_trades():
        booked = by_trade.get(trade.trade_id, {})
        base, reserve = trade.pair.base, trade.reserve_currency
        if trade.is_success:
            expected = {base.key: trade.executed_quantity_raw or 0}
            reserve_raw = trade.executed_reserve_raw or 0
            expected[reserve.key] = expected.get(reserve.key, 0) + (
                -reserve_raw if trade.is_buy else reserve_raw
            )
        else:
            expected = {}
        for key in expected.keys() | booked.keys():
            if booked.get(key, 0) != expected.get(key, 0):
                section.fail(
                    f"trade #{trade.trade_id} ({trade.pair.ticker}, {trade.status}): its ledger entries move "
                    f"{booked.get(key, 0)} raw units of {_name(state, key)} but its executed amounts say "
                    f"{expected.get(key, 0)}",
                    asset_key=key,
                )
        for tx in trade.blockchain_transactions:
            if tx.gas_fee_booked and gas_by_tx.get(tx.tx_hash.lower(), 0) != -tx.gas_fee_raw:
                gas = state.portfolio.gas_holding()
                section.fail(
                    f"transaction {tx.tx_hash} of trade #{trade.trade_id}: the ledger books "
                    f"{-gas_by_tx.get(tx.tx_hash.lower(), 0)} wei of gas but the transaction cost {tx.gas_fee_raw}",
                    asset_key=gas.asset.key if gas is not None else None,
                    tx_hash=tx.tx_hash,
                )
    section.checked.append(
        f"{sum(1 for _ in state.portfolio.all_trades())} trade(s): ledger entries = executed amounts"
    )


def check_against_chain(state: State, ctx: AuditContext, section: AuditSection) -> None:
    trades = ctx.trades_to_verify(state)
    ctx.receipts.prefetch(
        tx.tx_hash for t in trades for tx in t.blockchain_transactions if tx.status in MINED
    )
    for trade in trades:
        for tx in trade.blockchain_transactions:
            if tx.status not in MINED:
                continue
            receipt = ctx.receipts.get(tx.tx_hash)
            if receipt is None:
                section.fail(
                    f"trade #{trade.trade_id} ({trade.pair.ticker}): its transaction {tx.tx_hash} is not on chain, "
                    "so its booked amounts and gas cannot be verified",
                    tx_hash=tx.tx_hash,
                )
                continue
            fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
            if fee and not tx.gas_fee_booked:
                gas = state.portfolio.gas_holding()
                section.fail(
                    f"transaction {tx.tx_hash} of trade #{trade.trade_id} cost {fee} wei of gas on chain but no "
                    "gas fee was booked for it",
                    asset_key=gas.asset.key if gas is not None else None,
                    tx_hash=tx.tx_hash,
                )
            elif fee != tx.gas_fee_raw:
                gas = state.portfolio.gas_holding()
                section.fail(
                    f"transaction {tx.tx_hash} of trade #{trade.trade_id} cost {fee} wei of gas on chain but the "
                    f"state books {tx.gas_fee_raw}",
                    asset_key=gas.asset.key if gas is not None else None,
                    tx_hash=tx.tx_hash,
                )
        _check_swap(trade, ctx, section)
    if trades:
        section.checked.append(f"{len(trades)} trade(s): executed amounts and gas = their receipts")


def _check_swap(trade: TradeExecution, ctx: AuditContext, section: AuditSection) -> None:
    swaps = [
        tx for tx in trade.blockchain_transactions if tx.function == SWAP_FUNCTION and tx.status in MINED
    ]
    succeeded = [tx for tx in swaps if tx.status == TxStatus.success]
    if not trade.is_success:
        for tx in succeeded:
            section.fail(
                f"trade #{trade.trade_id} ({trade.pair.ticker}) is {trade.status} but its swap {tx.tx_hash} "
                "succeeded on chain",
                asset_key=trade.pair.base.key,
                tx_hash=tx.tx_hash,
            )
        return
    if len(succeeded) != 1:
        section.fail(
            f"trade #{trade.trade_id} ({trade.pair.ticker}) succeeded but has {len(succeeded)} successful swap "
            "transactions recorded instead of one",
            asset_key=trade.pair.base.key,
        )
        return
    tx = succeeded[0]
    receipt = ctx.receipts.get(tx.tx_hash)
    if receipt is None:
        return  # reported above
    side = TradeSide.buy if trade.is_buy else TradeSide.sell
    try:
        route = ctx.routing.route(side, trade.pair)
        amount_in, amount_out = decode_swap_amounts(route, receipt)
        paid_to = swap_events(receipt, route.pools[-1].pool_address)[0]["to"]
    except (UserError, ValueError) as e:
        section.fail(
            f"trade #{trade.trade_id} ({trade.pair.ticker}): the Swap events of {tx.tx_hash} cannot be read: {e}",
            asset_key=trade.pair.base.key,
            tx_hash=tx.tx_hash,
        )
        return
    base, reserve = trade.pair.base, trade.reserve_currency
    if trade.is_buy:
        expected = (
            (reserve, amount_in, trade.executed_reserve_raw or 0, "went in"),
            (base, amount_out, trade.executed_quantity_raw or 0, "came out"),
        )
    else:
        expected = (
            (base, amount_in, -(trade.executed_quantity_raw or 0), "went in"),
            (reserve, amount_out, trade.executed_reserve_raw or 0, "came out"),
        )
    for asset, on_chain, booked, how in expected:
        if on_chain != booked:
            section.fail(
                f"trade #{trade.trade_id} ({side.value} {trade.pair.ticker}, swap {tx.tx_hash}): the Swap events say "
                f"{_amount(asset, on_chain)} {how} but the state books {_amount(asset, booked)}",
                asset_key=asset.key,
                tx_hash=tx.tx_hash,
            )
    if address_key(paid_to) != address_key(ctx.wallet_address):
        section.fail(
            f"trade #{trade.trade_id} ({trade.pair.ticker}): swap {tx.tx_hash} paid out to {paid_to}, not to the "
            f"hot wallet {ctx.wallet_address}",
            asset_key=trade.pair.base.key,
            tx_hash=tx.tx_hash,
        )


def audit_ledger(state: State, ctx: AuditContext) -> AuditSection:
    section = AuditSection(AuditType.ledger)
    check_sums(state, section)
    check_trade_entries(state, section)
    check_against_chain(state, ctx, section)
    return section
