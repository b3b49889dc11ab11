"""Live models on a real anvil chain with real Uniswap v2: sync, pricing, valuation, execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.live.state_file import load_state
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.ethereum.tx import is_known_to_node
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.state.transaction import TxStatus
from tradeexecutor.strategy.position_manager import PositionManager

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def runner(live, decide) -> CycleRunner:
    m = live.models
    return CycleRunner(
        state=live.state,
        pricing_model=m.pricing,
        execution_model=m.execution,
        sync_model=m.sync,
        valuation_model=m.valuation,
        decide=decide,
        checkpoint=live.checkpoint,
    )


def assert_books_match_chain(live) -> None:
    """Reserve, gas and every position's token equal the wallet's on-chain balances, and the ledger agrees."""
    web3, wallet, state = live.eth.web3, live.eth.wallet.address, live.state
    usdc = live.eth.assets["USDC"]
    assert state.portfolio.reserve_holding().quantity_raw == balance_of(web3, usdc, wallet)
    assert state.portfolio.gas_holding().quantity_raw == web3.eth.get_balance(wallet)
    for position in state.portfolio.open_positions.values():
        assert position.quantity_raw == balance_of(web3, position.pair.base, wallet)
    held = {k: v for k, v in state.portfolio.held_balances_raw().items() if v}
    assert {k: v for k, v in state.ledger.balances().items() if v} == held


def mint_usdc(live, to: str, amount: int) -> None:
    from tradeexecutor.ethereum.abi import ERC20, abi

    web3 = live.eth.devchain.web3
    token = web3.eth.contract(
        address=live.eth.assets["USDC"].address,
        abi=abi(ERC20 + ("function mint(address to, uint256 amount)",)),
    )
    web3.eth.wait_for_transaction_receipt(
        token.functions.mint(to, amount).transact({"from": web3.eth.accounts[0]})
    )


def test_first_sync_books_the_wallet_then_external_changes_with_a_reason(live) -> None:
    state, sync = live.state, live.models.sync
    sync.sync(T0, state)
    assert state.portfolio.cash() == Decimal(10_000)
    assert state.portfolio.gas_holding().asset.symbol == "ETH"
    deposits = [e for e in state.ledger.entries if e.kind == LedgerKind.deposit]
    assert len(deposits) == 2 and all("first sync of hot wallet" in e.reason for e in deposits)
    block = state.portfolio.reserve_holding().last_sync_block
    assert block == live.eth.web3.eth.block_number

    sync.sync(T0, state)  # nothing changed: nothing booked
    assert len(state.ledger.entries) == 2

    mint_usdc(live, live.eth.wallet.address, 100 * 10**6)
    sync.sync(T0, state)
    entry = state.ledger.entries[-1]
    assert entry.kind == LedgerKind.deposit and entry.amount_raw == 100 * 10**6
    assert (
        entry.reason.startswith("found 100 USDC more on chain than booked")
        and "external deposit" in entry.reason
    )
    assert state.portfolio.cash() == Decimal(10_100)
    assert_books_match_chain(live)


def test_fresh_wallet_without_reserve_still_has_a_reserve_currency(live, eth) -> None:
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.sync import WalletSync

    empty = HotWallet.create()
    sync = WalletSync(eth.web3, empty.address, eth.assets["USDC"])
    sync.sync(T0, live.state)
    assert live.state.portfolio.free_cash() == 0 and live.state.ledger.entries == []


def test_live_pricing_in_reserve_currency_direct_and_two_hop(live, eth) -> None:
    pricing = live.models.pricing
    weth_usdc, dev_weth, dev_usdc = eth.pairs["WETH-USDC"], eth.pairs["DEV-WETH"], eth.pairs["DEV-USDC"]
    mid = pricing.get_mid_price(T0, weth_usdc)
    assert Decimal(1990) < mid < Decimal(2010)
    buy = pricing.get_buy_price(T0, weth_usdc, Decimal(1000))
    sell = pricing.get_sell_price(T0, weth_usdc, Decimal("0.5"))
    assert sell.price < buy.mid_price == mid < buy.price  # fee and impact go against us both ways
    assert buy.lp_fee == Decimal(3)  # 0.3 % of 1000 USDC
    # DEV-WETH is priced in USDC through WETH: about 0.0025 WETH * 2000 = 5 USDC, like DEV-USDC
    two_hop = pricing.get_mid_price(T0, dev_weth)
    assert abs(two_hop - pricing.get_mid_price(T0, dev_usdc)) < Decimal("0.1")
    two_hop_buy = pricing.get_buy_price(T0, dev_weth, Decimal(100))
    assert two_hop_buy.price > two_hop
    assert two_hop_buy.lp_fee == Decimal(100) * (1 - Decimal("0.997") ** 2)


def test_cycle_buys_direct_and_two_hop_and_books_everything(live, eth) -> None:
    weth_usdc, dev_weth = eth.pairs["WETH-USDC"], eth.pairs["DEV-WETH"]
    saves_on_disk: list[int] = []

    def checkpoint_checks_nothing_unsaved_was_sent() -> None:
        live.checkpoint()
        on_disk = load_state(live.path)
        for trade in on_disk.portfolio.all_trades():
            for tx in trade.blockchain_transactions:
                if tx.status == TxStatus.signed:  # saved before broadcast: the node must not know it yet
                    assert not is_known_to_node(eth.web3, tx.tx_hash)
        saves_on_disk.append(1)

    quotes = {}

    def decide(ts, pm: PositionManager):
        quotes["weth"] = live.models.pricing.get_buy_price(ts, weth_usdc, Decimal(100))
        return pm.open_1x_long(weth_usdc, 100) + pm.open_1x_long(dev_weth, 50)

    cycle = runner(live, decide)
    cycle.checkpoint = checkpoint_checks_nothing_unsaved_was_sent
    report = cycle.run_cycle(T0)

    assert [t.status for t in report.trades] == [TradeStatus.success, TradeStatus.success]
    weth_trade, dev_trade = report.trades
    assert weth_trade.executed_reserve_raw == 100 * 10**6 and dev_trade.executed_reserve_raw == 50 * 10**6
    assert weth_trade.executed_price == quotes["weth"].price  # nothing moved the pool in between
    assert weth_trade.lp_fees_reserve == Decimal("0.3")
    for trade in report.trades:
        functions = [tx.function for tx in trade.blockchain_transactions]
        assert functions == ["approve", "swapExactTokensForTokens"]  # --approval-mode exact
        for tx in trade.blockchain_transactions:
            assert tx.status == TxStatus.success and tx.signed_bytes is None and tx.gas_fee_booked
            assert tx.from_address == eth.wallet.address and tx.gas_used and tx.block_number
            assert tx.max_fee_per_gas and tx.gas_limit > tx.gas_used
        swap = trade.blockchain_transactions[-1]
        assert swap.to_address == eth.deployment.router and swap.details["pair"] == trade.pair.ticker
        assert trade.gas_fees_native_raw == sum(tx.gas_fee_raw for tx in trade.blockchain_transactions)
        assert trade.gas_fees_reserve > 0  # valued through the WETH-USDC pool
    assert dev_trade.blockchain_transactions[-1].details["route"] == "USDC -> WETH -> DEV"
    nonces = sorted(tx.nonce for t in report.trades for tx in t.blockchain_transactions)
    assert nonces == list(range(nonces[0], nonces[0] + 4))
    assert len(saves_on_disk) >= 5  # each record before broadcast, each settlement, the cycle end
    assert_books_match_chain(live)
    on_disk = load_state(live.path)
    assert on_disk.ledger.balances() == live.state.ledger.balances()

    # positions are valued at what selling them fetches: below mid, above zero
    weth_position = live.state.portfolio.open_position_for_pair(weth_usdc)
    mid = live.models.pricing.get_mid_price(T0, weth_usdc)
    assert 0 < weth_position.last_token_price < mid


def test_sells_run_before_buys(live, eth) -> None:
    weth_usdc, dev_usdc = eth.pairs["WETH-USDC"], eth.pairs["DEV-USDC"]
    runner(live, lambda ts, pm: pm.open_1x_long(weth_usdc, 9_000)).run_cycle(T0)

    def rotate(ts, pm: PositionManager):
        buys = pm.open_1x_long(dev_usdc, 500)  # planned first, executed second
        return buys + pm.close_position(pm.get_current_position_for_pair(weth_usdc))

    report = runner(live, rotate).run_cycle(T0 + timedelta(hours=1))
    buy, sell = report.trades
    assert buy.status == sell.status == TradeStatus.success
    assert sell.blockchain_transactions[-1].nonce < buy.blockchain_transactions[0].nonce
    assert live.state.portfolio.open_position_for_pair(weth_usdc) is None
    assert len(live.state.portfolio.closed_positions) == 1
    assert_books_match_chain(live)


def _approve_directly(eth, token_address: str, spender: str, amount: int):
    """An approval sent by hand from the hot wallet, outside the executor's books; its receipt
    (a fixed gas limit, so that one the token refuses is mined as a revert, not refused unsent)."""
    from tradeexecutor.ethereum.abi import ERC20, abi

    token = eth.web3.eth.contract(address=token_address, abi=abi(ERC20))
    tx = token.functions.approve(spender, amount).build_transaction(
        {
            "from": eth.wallet.address,
            "nonce": eth.web3.eth.get_transaction_count(eth.wallet.address),
            "gas": 100_000,
        }
    )
    signed = eth.wallet.sign({k: v for k, v in tx.items() if k != "from"})
    return eth.web3.eth.wait_for_transaction_receipt(
        eth.web3.eth.send_raw_transaction(signed.raw_transaction)
    )


def test_dev_token_refuses_to_change_a_non_zero_allowance_like_usdt(live, eth) -> None:
    dev, router = eth.assets["DEV"], eth.deployment.router
    assert _approve_directly(eth, dev.address, router, 5)["status"] == 1
    assert _approve_directly(eth, dev.address, router, 7)["status"] == 0  # not 5 -> 7
    assert _approve_directly(eth, dev.address, router, 0)["status"] == 1
    assert _approve_directly(eth, dev.address, router, 7)["status"] == 1


def test_leftover_allowance_is_reset_to_zero_before_approving_again(live, eth) -> None:
    from tradeexecutor.ethereum.erc20 import allowance
    from tradeexecutor.execution.live.transactions import APPROVE_FUNCTION, SWAP_FUNCTION

    dev_usdc = eth.pairs["DEV-USDC"]
    dev, router = eth.assets["DEV"], eth.deployment.router
    runner(live, lambda ts, pm: pm.open_1x_long(dev_usdc, 500)).run_cycle(T0)
    # A leftover allowance, as a reverted sell leaves behind; too small for the next sell.
    assert _approve_directly(eth, dev.address, router, 1)["status"] == 1
    live.eth.wallet.forget_nonce()  # the hand-made transaction used a nonce behind its back

    report = runner(live, lambda ts, pm: pm.close_all()).run_cycle(T0 + timedelta(hours=1))
    (sell,) = report.trades
    assert sell.status == TradeStatus.success, sell.failure_reason
    reset, approve, swap = sell.blockchain_transactions
    assert [reset.function, approve.function, swap.function] == [
        APPROVE_FUNCTION,
        APPROVE_FUNCTION,
        SWAP_FUNCTION,
    ]
    assert "reset the DEV allowance to 0" in reset.details["description"]
    assert all(tx.status == TxStatus.success for tx in (reset, approve, swap))
    assert allowance(eth.web3, dev, eth.wallet.address, router) == 0  # the exact approval was spent
    assert live.state.portfolio.open_position_for_pair(dev_usdc) is None


def test_execution_logs_carry_the_cycle_and_trade_they_belong_to(live, eth) -> None:
    import logging

    from tradeexecutor.reporting.log_context import ContextFilter, log_context

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.INFO)
    handler.addFilter(ContextFilter())
    root = logging.getLogger("tradeexecutor")
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with log_context(cycle=7):
            report = runner(live, lambda ts, pm: pm.open_1x_long(eth.pairs["WETH-USDC"], 100)).run_cycle(T0)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    (trade,) = report.trades
    broadcasts = [r for r in records if r.getMessage().startswith("Broadcast ")]
    assert broadcasts and all((r.cycle, r.trade_id) == (7, trade.trade_id) for r in broadcasts)
    assert all(r.context == f"[cycle 7 trade {trade.trade_id}] " for r in broadcasts)
