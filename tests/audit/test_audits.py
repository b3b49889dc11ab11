"""The three audits on a real anvil chain with real Uniswap v2, after trades by the real execution model."""

from __future__ import annotations

import msgspec
import pytest

from tests.audit.helpers import (
    engine,
    mint,
    run_cycle,
    send_weth,
    set_token_balance,
    swap_outside_executor,
)
from tradeexecutor.audit.model import AuditType, Verdict
from tradeexecutor.audit.tolerance import Tolerances
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeStatus


def buy_weth_and_dev(live):
    eth = live.eth
    weth_usdc, dev_weth = eth.pairs["WETH-USDC"], eth.pairs["DEV-WETH"]
    report = run_cycle(live, lambda ts, pm: pm.open_1x_long(weth_usdc, 100) + pm.open_1x_long(dev_weth, 50))
    assert [t.status for t in report.trades] == [TradeStatus.success, TradeStatus.success]
    return report


def test_clean_trading_passes_every_audit_and_moves_the_cursor(live) -> None:
    buy_weth_and_dev(live)  # a direct and a two-hop (USDC -> WETH -> DEV) buy
    state, wallet = live.state, live.eth.wallet.address
    report = engine(live).run(state, after_sync=True, cycle=1)
    assert report.ok and report.complete, report.problems
    assert [s.audit_type for s in report.sections] == [AuditType.balance, AuditType.ledger, AuditType.order]
    rows = {r.asset.symbol: r for r in report.balances}
    assert set(rows) == {"USDC", "ETH", "WETH", "DEV"}
    assert all(r.verdict is Verdict.match and r.state_raw == r.chain_raw for r in rows.values())
    assert rows["DEV"].chain_raw == balance_of(live.eth.web3, live.eth.assets["DEV"], wallet) > 0
    ledger = report.section(AuditType.ledger)
    assert "2 trade(s): executed amounts and gas = their receipts" in ledger.checked
    order = report.section(AuditType.order)
    assert "nonces 0-3: every one recorded" in order.checked  # two approvals, two swaps
    assert state.audit_cursor.next_nonce == 4 and state.audit_cursor.last_block == report.block
    assert state.audit_cursor.wallet_address == wallet
    assert [f.ok for f in state.audit_findings] == [True, True, True]

    # the next audit looks only at what came after the cursor, then at a sell
    again = engine(live).run(state, after_sync=True)
    assert again.ok and "no new nonce" in again.section(AuditType.order).checked
    weth = state.portfolio.open_position_for_pair(live.eth.pairs["WETH-USDC"])
    run_cycle(live, lambda ts, pm: pm.close_position(weth), hour=1)
    third = engine(live).run(state, after_sync=True)
    assert third.ok, third.problems
    assert "1 trade(s): executed amounts and gas = their receipts" in third.section(AuditType.ledger).checked
    assert state.audit_cursor.passed_count == 3


def test_a_deposit_is_booked_by_the_sync_and_the_audit_passes(live) -> None:
    buy_weth_and_dev(live)
    engine(live).run(live.state, after_sync=True)
    mint(live.eth.devchain, "USDC", live.eth.wallet.address, 250 * 10**6)

    unsynced = engine(live).run(live.state, book=False)  # the `audit` command: no sync before
    usdc = next(r for r in unsynced.balances if r.asset.symbol == "USDC")
    assert usdc.verdict is Verdict.unsynced_deposit and usdc.difference_raw == 250 * 10**6 and unsynced.ok

    live.models.sync.sync(live.state.last_updated_at, live.state)
    deposit = live.state.ledger.entries[-1]
    assert deposit.kind == LedgerKind.deposit and deposit.amount_raw == 250 * 10**6
    assert "external deposit" in deposit.reason
    report = engine(live).run(live.state, after_sync=True)
    assert report.ok and all(r.verdict is Verdict.match for r in report.balances)


def test_dust_on_a_position_token_is_booked_as_drift_with_its_reason(live) -> None:
    buy_weth_and_dev(live)
    state, wallet = live.state, live.eth.wallet.address
    weth_position = state.portfolio.open_position_for_pair(live.eth.pairs["WETH-USDC"])
    before = weth_position.quantity_raw
    send_weth(live.eth.devchain, wallet, 5)  # another account sends 5 wei of WETH

    dev = live.eth.assets["DEV"]  # and the DEV token contract changes our balance by 3 wei
    set_token_balance(live.eth.devchain, "DEV", wallet, balance_of(live.eth.web3, dev, wallet) + 3)

    report = engine(live).run(state, after_sync=True)
    assert report.ok and report.drift_booked
    rows = {r.asset.symbol: r for r in report.balances}
    assert rows["WETH"].verdict is Verdict.drift and rows["WETH"].difference_raw == 5
    assert rows["DEV"].verdict is Verdict.drift and rows["DEV"].difference_raw == 3
    assert weth_position.quantity_raw == before + 5 and weth_position.quantity_adjustment_raw == 5
    drift = [e for e in state.ledger.entries if e.kind == LedgerKind.drift]
    assert {(e.asset_key, e.amount_raw) for e in drift} == {(rows["WETH"].asset.key, 5), (dev.key, 3)}
    assert all("within the" in e.reason and "tolerance" in e.reason for e in drift)
    assert engine(live).run(state, after_sync=True).balances == [
        r for r in engine(live).run(state, after_sync=True, book=False).balances
    ]
    assert all(r.verdict is Verdict.match for r in engine(live).run(state, after_sync=True).balances)

    # selling the position sells the drift too: the wallet ends with no WETH
    run_cycle(live, lambda ts, pm: pm.close_position(weth_position), hour=1)
    assert balance_of(live.eth.web3, rows["WETH"].asset, wallet) == 0
    assert engine(live).run(state, after_sync=True).ok


def test_a_difference_beyond_tolerance_fails_naming_the_token_and_books_nothing(live) -> None:
    buy_weth_and_dev(live)
    state, wallet = live.state, live.eth.wallet.address
    dev = live.eth.assets["DEV"]
    set_token_balance(live.eth.devchain, "DEV", wallet, balance_of(live.eth.web3, dev, wallet) + 10**12)
    send_weth(live.eth.devchain, wallet, 5)
    entries, cursor = len(state.ledger.entries), msgspec.structs.replace(state.audit_cursor)

    report = engine(live).run(state, after_sync=True)
    assert not report.ok
    (problem,) = report.problems
    assert problem.audit_type is AuditType.balance and problem.asset_key == dev.key
    assert problem.message.startswith(f"DEV ({dev.address})") and "more than the tolerance" in problem.message
    assert len(state.ledger.entries) == entries  # the WETH dust is not booked either
    assert state.audit_cursor == cursor
    assert [(f.audit_type, f.asset_key) for f in state.audit_findings if not f.ok] == [("balance", dev.key)]

    # a wider tolerance for DEV makes the same difference drift
    wide = engine(live, tolerances=Tolerances.parse("DEV=0.00001")).run(state, after_sync=True)
    assert wide.ok and wide.drift_booked


def test_a_swap_by_the_same_key_outside_the_executor_fails_the_order_audit(live) -> None:
    buy_weth_and_dev(live)
    engine(live).run(live.state, after_sync=True)
    rogue = swap_outside_executor(live.eth.devchain, 20 * 10**6)
    live.models.sync.sync(live.state.last_updated_at, live.state)  # books the missing USDC as a withdrawal

    report = engine(live).run(live.state, after_sync=True)
    assert not report.ok
    order = report.section(AuditType.order)
    named = [p for p in order.problems if p.tx_hash == rogue]
    assert named and "does not know" in named[0].message and "outside this executor" in named[0].message
    nonce_problems = [p.message for p in order.problems if p.message.startswith("nonce ")]
    assert len(nonce_problems) == 2 and rogue in nonce_problems[1]  # the approval, then the swap
    # the WETH the rogue swap bought is not held by the state either
    assert any(p.audit_type is AuditType.balance and "WETH" in p.message for p in report.problems)
    assert any(f.tx_hash == rogue and not f.ok for f in live.state.audit_findings)


def test_a_tampered_ledger_fails_the_ledger_audit_naming_the_asset(live) -> None:
    buy_weth_and_dev(live)
    state = live.state
    usdc = live.eth.assets["USDC"]
    index, entry = next(
        (i, e)
        for i, e in enumerate(state.ledger.entries)
        if e.kind == LedgerKind.trade and e.asset_key == usdc.key
    )
    state.ledger.entries[index] = msgspec.structs.replace(entry, amount_raw=entry.amount_raw - 1)

    report = engine(live, types=(AuditType.ledger,)).run(state, book=False)
    problems = report.section(AuditType.ledger).problems
    assert problems and all(p.asset_key == usdc.key for p in problems)
    assert problems[0].message.startswith(f"USDC ({usdc.key}): the ledger entries sum to")
    assert f"trade #{entry.trade_id}" in problems[1].message


def test_a_tampered_trade_amount_fails_against_its_swap_events(live) -> None:
    """Trade, ledger and holding changed together: the state adds up, only the chain disagrees."""
    report = buy_weth_and_dev(live)
    state = live.state
    trade = report.trades[1]  # the two-hop DEV buy
    usdc = live.eth.assets["USDC"]
    trade.executed_reserve_raw += 1_000
    index, entry = next(
        (i, e)
        for i, e in enumerate(state.ledger.entries)
        if e.trade_id == trade.trade_id and e.asset_key == usdc.key
    )
    state.ledger.entries[index] = msgspec.structs.replace(entry, amount_raw=entry.amount_raw - 1_000)
    state.portfolio.reserve_holding().quantity_raw -= 1_000

    audit = engine(live).run(state, book=False, after_sync=True)
    ledger = audit.section(AuditType.ledger)
    swap = trade.blockchain_transactions[-1].tx_hash
    (problem,) = ledger.problems
    assert problem.asset_key == usdc.key and problem.tx_hash == swap
    assert (
        f"trade #{trade.trade_id} (buy DEV-WETH, swap {swap}): the Swap events say 50 USDC went in"
        in problem.message
    )
    assert "the state books 50.001 USDC" in problem.message
    # and the wallet holds more USDC than the tampered state says
    assert [p.asset_key for p in audit.section(AuditType.balance).problems] == [usdc.key]


@pytest.mark.parametrize("types", ["balance", "ledger,order"])
def test_audit_type_subsets_run_alone_and_do_not_move_the_cursor(live, types) -> None:
    from tradeexecutor.audit.model import parse_audit_types

    buy_weth_and_dev(live)
    report = engine(live, types=parse_audit_types(types)).run(live.state, after_sync=True)
    assert report.ok and [s.audit_type.value for s in report.sections] == types.split(",")
    assert live.state.audit_cursor.last_block is None


def test_a_foreign_account_paying_the_wallet_through_a_swap_is_noted_not_failed(live) -> None:
    from tests.audit.helpers import deployer

    buy_weth_and_dev(live)
    engine(live).run(live.state, after_sync=True)
    eth = live.eth
    web3, trader = eth.devchain.web3, deployer(live.eth.devchain)
    mint(live.eth.devchain, "USDC", trader, 10**6)
    from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, abi

    usdc, weth = eth.assets["USDC"], eth.assets["WETH"]
    token = web3.eth.contract(address=usdc.address, abi=abi(ERC20))
    web3.eth.wait_for_transaction_receipt(
        token.functions.approve(eth.deployment.router, 10**6).transact({"from": trader})
    )
    router = web3.eth.contract(address=eth.deployment.router, abi=abi(UNISWAP_V2_ROUTER))
    gift = router.functions.swapExactTokensForTokens(
        10**6, 0, [usdc.address, weth.address], eth.wallet.address, 2**63
    ).transact({"from": trader, "gas": 300_000})
    web3.eth.wait_for_transaction_receipt(gift)

    report = engine(live, types=(AuditType.order,)).run(live.state)
    order = report.section(AuditType.order)
    assert order.ok, order.problems
    assert any(
        n.startswith(f"swap {gift.to_0x_hex()}") and "a deposit from another account" in n
        for n in order.notes
    )


def test_a_mined_transaction_without_its_gas_fee_fails_the_ledger_audit(live) -> None:
    report = buy_weth_and_dev(live)
    approval = report.trades[0].blockchain_transactions[0]
    approval.gas_fee_booked = False  # as if the executor had forgotten to book it
    ledger = engine(live, types=(AuditType.ledger,)).run(live.state, book=False).section(AuditType.ledger)
    messages = [p.message for p in ledger.problems if p.tx_hash == approval.tx_hash]
    assert any("no gas fee was booked for it" in m for m in messages), ledger.problems
