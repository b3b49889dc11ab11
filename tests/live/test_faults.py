"""Faults during live execution: each ends in one clear sentence and a state that still adds up."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.live.state_file import load_state
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, abi
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.execution.live.execution_model import LowGasBalance
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.state.transaction import TxStatus
from tradeexecutor.strategy.position_manager import PositionManager

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def synced(live):
    live.models.sync.sync(T0, live.state)
    return PositionManager(T0, live.state, live.models.pricing)


def assert_consistent(live) -> None:
    """Nothing committed by a dead trade, ledger equal to holdings, books equal to the chain."""
    state, web3, wallet = live.state, live.eth.web3, live.eth.wallet.address
    assert state.portfolio.pending_trades() == []
    assert state.portfolio.free_cash() == state.portfolio.cash()  # no reserve left committed
    held = {k: v for k, v in state.portfolio.held_balances_raw().items() if v}
    assert {k: v for k, v in state.ledger.balances().items() if v} == held
    assert state.portfolio.reserve_holding().quantity_raw == balance_of(web3, live.eth.assets["USDC"], wallet)
    assert state.portfolio.gas_holding().quantity_raw == web3.eth.get_balance(wallet)
    assert load_state(live.path).ledger.balances() == state.ledger.balances()  # and it was saved


def execute(live, trades) -> None:
    live.models.execution.execute_trades(T0, live.state, trades, live.checkpoint)


def test_slippage_exceeded_on_chain_fails_the_trade_releases_reserve_and_books_gas(live, eth) -> None:
    """Another trader's swap lands in the same block just before ours and moves the price past --max-slippage."""
    chain = eth.devchain.web3
    d = eth.devchain.deployment
    trader = chain.eth.accounts[0]
    usdc = chain.eth.contract(
        address=d.token("USDC").address, abi=abi(ERC20 + ("function mint(address to, uint256 amount)",))
    )
    chain.eth.wait_for_transaction_receipt(
        usdc.functions.mint(trader, 50_000 * 10**6).transact({"from": trader})
    )
    chain.eth.wait_for_transaction_receipt(
        usdc.functions.approve(d.router, 2**255).transact({"from": trader})
    )
    router = chain.eth.contract(address=d.router, abi=abi(UNISWAP_V2_ROUTER))
    pm = synced(live)
    trades = pm.open_1x_long(eth.pairs["WETH-USDC"], 100)
    stop = threading.Event()

    def block_builder() -> None:
        """Mines what the executor sends; puts a 40k USDC buy ahead of its swap (higher tip)."""
        front_run = False
        while not stop.wait(0.02):
            pending = chain.provider.make_request("eth_getBlockByNumber", ["pending", True])["result"][
                "transactions"
            ]
            ours = [tx for tx in pending if tx["from"].lower() == eth.wallet.address.lower()]
            if not ours:
                continue
            if not front_run and any(tx["to"].lower() == d.router.lower() for tx in ours):
                router.functions.swapExactTokensForTokens(
                    40_000 * 10**6, 0, [d.token("USDC").address, d.token("WETH").address], trader, 2**63
                ).transact(
                    {
                        "from": trader,
                        "gas": 300_000,
                        "maxPriorityFeePerGas": 50 * 10**9,
                        "maxFeePerGas": 100 * 10**9,
                    }
                )
                front_run = True
            chain.provider.make_request("evm_mine", [])

    chain.provider.make_request("evm_setAutomine", [False])
    builder = threading.Thread(target=block_builder, daemon=True)
    builder.start()
    try:
        execute(live, trades)
    finally:
        stop.set()
        builder.join()
        chain.provider.make_request("evm_setAutomine", [True])

    trade = trades[0]
    assert trade.status == TradeStatus.failed
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in trade.failure_reason and "--max-slippage" in trade.failure_reason
    swap = trade.blockchain_transactions[-1]
    assert swap.status == TxStatus.reverted and swap.gas_fee_booked and swap.gas_used
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in swap.revert_reason and swap.signed_bytes is None
    gas_entries = [
        e for e in live.state.ledger.entries if e.kind == LedgerKind.gas_fee and e.trade_id == trade.trade_id
    ]
    assert len(gas_entries) == 2  # the approval and the reverted swap both cost gas
    assert live.state.portfolio.cash() == Decimal(10_000)  # the reserve never moved
    assert live.state.position_of(trade).status == "closed"  # nothing was bought
    assert_consistent(live)


def test_allowance_or_balance_revert_fails_before_the_swap_is_sent(live, eth) -> None:
    """The wallet's USDC left after the sync: the swap would revert (TRANSFER_FROM_FAILED) and is never signed."""
    pm = synced(live)
    trades = pm.open_1x_long(eth.pairs["WETH-USDC"], 9_000)
    token = eth.web3.eth.contract(address=eth.assets["USDC"].address, abi=abi(ERC20))
    outside = eth.devchain.web3.eth.accounts[5]
    eth.devchain.web3.eth.wait_for_transaction_receipt(
        eth.devchain.web3.eth.send_raw_transaction(
            eth.devchain.hot_wallet.sign_transaction(
                token.functions.transfer(outside, 5_000 * 10**6).build_transaction(
                    {
                        "from": eth.wallet.address,
                        "nonce": eth.web3.eth.get_transaction_count(eth.wallet.address),
                    }
                )
            ).raw_transaction
        )
    )
    eth.wallet.forget_nonce()
    nonce_before = eth.web3.eth.get_transaction_count(eth.wallet.address)
    execute(live, trades)
    trade = trades[0]
    assert trade.status == TradeStatus.failed
    assert "TRANSFER_FROM_FAILED" in trade.failure_reason and "allowance" in trade.failure_reason
    assert [tx.function for tx in trade.blockchain_transactions] == ["approve"]  # the swap was never signed
    assert eth.web3.eth.get_transaction_count(eth.wallet.address) == nonce_before + 1
    live.models.sync.sync(T0, live.state)  # the outside transfer is found and explained
    live.checkpoint()
    reasons = [e.reason for e in live.state.ledger.entries if e.kind == LedgerKind.withdrawal]
    # the transfer out, and the gas it cost, were not the executor's doing
    assert [r.split(" at block")[0] for r in reasons] == [
        "found 5000 USDC less on chain than booked",
        f"found {reasons[1].split()[1]} ETH less on chain than booked",
    ]
    assert_consistent(live)


def test_low_gas_balance_fails_every_trade_unsent(live, eth) -> None:
    pm = synced(live)
    trades = pm.open_1x_long(eth.pairs["WETH-USDC"], 100) + pm.open_1x_long(eth.pairs["DEV-USDC"], 100)
    live.build(min_gas_balance=Decimal(1_000))
    with pytest.raises(
        LowGasBalance, match=r"has 100 ETH for gas, below the minimum of 1000 ETH .*send ETH to it"
    ):
        execute(live, trades)
    assert all(t.status == TradeStatus.failed and "not executed" in t.failure_reason for t in trades)
    assert all(not t.blockchain_transactions for t in trades)
    assert_consistent(live)


def test_unknown_pool_is_one_sentence(live, eth) -> None:
    from tradeexecutor.state.identifiers import TradingPairIdentifier

    real = eth.pairs["WETH-USDC"]
    ghost = TradingPairIdentifier(
        base=eth.assets["DEV"],
        quote=real.quote,
        pool_address="0x000000000000000000000000000000000000dEaD",
        exchange_slug=real.exchange_slug,
    )
    with pytest.raises(UserError, match="There is no Uniswap v2 pool for DEV-USDC at 0x0*dEaD"):
        live.models.pricing.get_mid_price(T0, ghost)
    other = TradingPairIdentifier(
        base=real.base, quote=real.quote, pool_address=real.pool_address, exchange_slug="sushiswap"
    )
    with pytest.raises(UserError, match="trades on sushiswap, but the executor was given only devchain"):
        live.models.pricing.get_mid_price(T0, other)


def test_unconfirmed_swap_is_left_broadcast_then_dropped_and_resolved_at_the_next_sync(live, eth) -> None:
    """Confirmation timeout: nothing is guessed. The node then loses the transaction; the next sync rebroadcasts it."""
    chain = eth.devchain.web3
    pm = synced(live)
    live.build(confirmation_timeout=1.0, approval_mode="unlimited")
    trades = pm.open_1x_long(eth.pairs["WETH-USDC"], 100) + pm.open_1x_long(eth.pairs["DEV-USDC"], 100)
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        stop = threading.Event()

        def mine_approvals() -> None:
            """A block builder that mines approvals and leaves swaps waiting."""
            while not stop.wait(0.02):
                pending = chain.provider.make_request("eth_getBlockByNumber", ["pending", True])["result"]
                if any(tx["to"].lower() != eth.deployment.router.lower() for tx in pending["transactions"]):
                    chain.provider.make_request("evm_mine", [])

        miner = threading.Thread(target=mine_approvals, daemon=True)
        miner.start()
        try:
            execute(live, trades)
        finally:
            stop.set()
            miner.join()
        first, second = trades
        assert first.status == TradeStatus.broadcast  # outcome unknown: left for recovery
        swap = first.blockchain_transactions[-1]
        assert swap.status == TxStatus.broadcast and swap.signed_bytes
        assert second.status == TradeStatus.failed and "unconfirmed transaction" in second.failure_reason
        assert load_state(live.path).portfolio.get_trade(first.trade_id).status == TradeStatus.broadcast
        chain.provider.make_request("anvil_dropTransaction", [swap.tx_hash])
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
    live.models.sync.sync(T0, live.state)
    live.checkpoint()
    report = live.models.sync.last_recovery
    assert report.rebroadcast == [swap.tx_hash]
    assert first.status == TradeStatus.success and swap.status == TxStatus.success
    assert_consistent(live)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_node_restarted_mid_confirmation_trade_still_settles(tmp_path: Path) -> None:
    """The node dies after our swap was mined and comes back from its dumped state; the trade settles once."""
    from web3 import HTTPProvider, Web3

    from tests.live.state_file import save_state
    from tradeexecutor.devchain.anvil import AnvilProcess
    from tradeexecutor.devchain.deploy import deploy_devchain
    from tradeexecutor.ethereum.connection import create_web3
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.tx import TransactionPipeline
    from tradeexecutor.ethereum.uniswap_v2.deployments import (
        UniswapV2Deployment,
        assets_from_file,
        pairs_from_file,
    )
    from tradeexecutor.ethereum.uniswap_v2.routing import MAX_UINT256, approve_request
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.state.state import State

    port, dump = _free_port(), tmp_path / "anvil.json"
    first = AnvilProcess(port=port, chain_id=31337, extra_args=("--dump-state", str(dump)))
    second = AnvilProcess(port=port, chain_id=31337, extra_args=("--load-state", str(dump)))
    url = first.start()
    try:
        wallet = HotWallet.create()
        deployment = deploy_devchain(Web3(HTTPProvider(url)), url, wallet.address)
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": url}, backoff=0.05)
        usdc = assets_from_file(deployment)["USDC"]
        TransactionPipeline(web3, wallet).execute(  # approved beforehand: the swap is the one waiting
            approve_request(usdc, deployment.router, MAX_UINT256), on_signed=lambda signed: None
        )
        state, path = State(), tmp_path / "state.json"
        models = build_live_models(
            web3,
            wallet,
            [UniswapV2Deployment.from_file(deployment)],
            usdc,
            ExecutionSettings(confirmation_block_count=3, confirmation_timeout=60, approval_mode="unlimited"),
            known_pairs=list(pairs_from_file(deployment).values()),
        )
        models.sync.sync(T0, state)
        trades = PositionManager(T0, state, models.pricing).open_1x_long(
            pairs_from_file(deployment)["WETH-USDC"], 100
        )
        done: dict = {}

        def run() -> None:
            try:
                models.execution.execute_trades(T0, state, trades, lambda: save_state(path, state))
            except Exception as e:  # surfaced below
                done["error"] = e

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 20
        while not any(
            tx.function == "swapExactTokensForTokens" for tx in trades[0].blockchain_transactions
        ) or (web3.eth.get_transaction_count(wallet.address) < 2):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        first.stop()  # mined, 1 of 3 confirmations; the node goes away with it
        time.sleep(0.5)
        second.start()
        Web3(HTTPProvider(url)).provider.make_request("anvil_mine", ["0x2"])
        worker.join(60)
        assert not worker.is_alive() and "error" not in done, done
        trade = trades[0]
        assert trade.status == TradeStatus.success and trade.executed_reserve_raw == 100 * 10**6
        assert trade.executed_quantity_raw == balance_of(web3, trade.pair.base, wallet.address)
        assert [tx.status for tx in trade.blockchain_transactions] == [TxStatus.success]
    finally:
        first.stop()
        second.stop()


def test_node_down_before_signing_is_transient_and_the_next_sync_cleans_up(live, eth) -> None:
    """Every node fails while the cycle executes: RPCUnavailable goes up for the loop to retry, nothing was sent."""
    from rpc_proxy import RpcProxy

    from tradeexecutor.ethereum.connection import RPCUnavailable, create_web3
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.execution.live.stack import build_live_models

    with RpcProxy(eth.devchain.rpc_url) as proxy:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": proxy.url}, backoff=0.01)
        models = build_live_models(
            web3,
            eth.wallet,
            [eth.deployment],
            eth.assets["USDC"],
            ExecutionSettings(),
            known_pairs=list(eth.pairs.values()),
            checkpoint=live.checkpoint,
        )
        models.sync.sync(T0, live.state)
        trades = PositionManager(T0, live.state, models.pricing).open_1x_long(eth.pairs["WETH-USDC"], 100)
        nonce = eth.web3.eth.get_transaction_count(eth.wallet.address)
        proxy.status = 503
        with pytest.raises(RPCUnavailable, match="No JSON-RPC node answered"):
            models.execution.execute_trades(T0, live.state, trades, live.checkpoint)
        assert trades[0].status in (TradeStatus.planned, TradeStatus.started)
        assert not trades[0].blockchain_transactions
        proxy.status = None
        models.sync.sync(T0, live.state)  # the retried cycle starts with a sync
        live.checkpoint()
    assert trades[0].status == TradeStatus.failed
    assert "interrupted before this trade sent anything" in trades[0].failure_reason
    assert eth.web3.eth.get_transaction_count(eth.wallet.address) == nonce  # no nonce used, none skipped
    assert_consistent(live)
