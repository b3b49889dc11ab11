"""Router swaps from the hot wallet through our pipeline, and the faults a user can meet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from chain_helpers import move_market

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.erc20 import allowance, balance_of, check_reserve_balance, fetch_token
from tradeexecutor.ethereum.tx import TransactionRequest, TransactionWouldRevert
from tradeexecutor.ethereum.uniswap_v2.execution import SwapFailed, UniswapV2SwapExecutor
from tradeexecutor.ethereum.uniswap_v2.routing import MAX_UINT256, ApprovalMode

USDC = 10**6


def test_buy_spends_exact_reserve_and_records_before_broadcast(eth) -> None:
    pair, usdc, weth = eth.pairs["WETH-USDC"], eth.assets["USDC"], eth.assets["WETH"]
    me = eth.wallet.address
    usdc_before, weth_before = balance_of(eth.web3, usdc, me), balance_of(eth.web3, weth, me)
    seen_by_node_at_record_time = []

    def record(signed) -> None:
        from tradeexecutor.ethereum.tx import is_known_to_node

        seen_by_node_at_record_time.append(is_known_to_node(eth.web3, signed.tx_hash))
        eth.recorded.append(signed)

    plan = eth.routing.plan_buy(pair, 250 * USDC, me)
    outcome = eth.executor.execute(plan, on_signed=record).raise_for_status()

    assert [s.description.split()[0] for s in eth.recorded] == ["approve", "buy"]
    assert seen_by_node_at_record_time == [False, False]  # recorded before broadcast
    assert eth.recorded[-1].tx_hash == outcome.tx.tx_hash
    assert outcome.amount_in == 250 * USDC and outcome.reserve_amount == 250 * USDC
    assert outcome.amount_out == plan.expected_amount_out  # nothing moved between plan and swap
    assert balance_of(eth.web3, usdc, me) == usdc_before - 250 * USDC
    assert balance_of(eth.web3, weth, me) == weth_before + outcome.base_amount
    assert outcome.executed_price == plan.expected_price
    assert Decimal(2000) < outcome.executed_price < Decimal(2010)
    assert outcome.lp_fee == Decimal("0.75")  # 0.3 % of 250 USDC
    assert outcome.gas_used == outcome.tx.gas_used + outcome.approval.gas_used
    assert outcome.tx.gas_cost_native == Decimal(outcome.tx.gas_used * outcome.tx.effective_gas_price).scaleb(
        -18
    )
    assert outcome.gas_cost_native > outcome.tx.gas_cost_native > 0


def test_sell_sells_exact_base_quantity(eth) -> None:
    pair, me = eth.pairs["WETH-USDC"], eth.wallet.address
    bought = eth.executor.execute(eth.routing.plan_buy(pair, 500 * USDC, me), on_signed=eth.recorded.append)
    quantity = bought.base_amount // 2
    plan = eth.routing.plan_sell(pair, quantity, me)
    sold = eth.executor.execute(plan, on_signed=eth.recorded.append).raise_for_status()
    assert sold.base_amount == quantity and sold.amount_in == quantity
    assert sold.reserve_amount == plan.expected_amount_out
    assert balance_of(eth.web3, eth.assets["WETH"], me) == bought.base_amount - quantity
    assert sold.lp_fee == pair.base.to_decimal(quantity) * Decimal("0.003")
    assert sold.lp_fee_in_reserve == sold.lp_fee * sold.executed_price


def test_two_hop_swap_through_weth(eth) -> None:
    """USDC -> WETH -> DEV: the DEV-WETH pair traded with a USDC reserve, both ways."""
    pair, via, me = eth.pairs["DEV-WETH"], eth.pairs["WETH-USDC"], eth.wallet.address
    plan = eth.routing.plan_buy(pair, 100 * USDC, me, intermediate=via)
    assert [t.symbol for t in plan.route.path] == ["USDC", "WETH", "DEV"]
    assert plan.reserve.symbol == "USDC"
    bought = eth.executor.execute(plan, on_signed=eth.recorded.append).raise_for_status()
    assert bought.amount_in == 100 * USDC and bought.amount_out == plan.expected_amount_out
    assert balance_of(eth.web3, eth.assets["DEV"], me) == bought.base_amount
    assert Decimal(5) < bought.executed_price < Decimal("5.1")  # 2000 × 0.0025, two fees
    assert bought.lp_fee == Decimal(100) * (1 - Decimal("0.997") ** 2)

    sell_plan = eth.routing.plan_sell(pair, bought.base_amount, me, intermediate=via)
    assert [t.symbol for t in sell_plan.route.path] == ["DEV", "WETH", "USDC"]
    sold = eth.executor.execute(sell_plan, on_signed=eth.recorded.append).raise_for_status()
    assert sold.amount_in == bought.base_amount and sold.amount_out == sell_plan.expected_amount_out
    assert Decimal(98) < eth.assets["USDC"].to_decimal(sold.reserve_amount) < Decimal(100)


def test_exact_approvals_are_exact_and_skipped_when_covered(eth) -> None:
    pair, me, router = eth.pairs["WETH-USDC"], eth.wallet.address, eth.deployment.router
    first = eth.executor.execute(eth.routing.plan_buy(pair, 100 * USDC, me), on_signed=eth.recorded.append)
    assert first.approval is not None
    assert allowance(eth.web3, eth.assets["USDC"], me, router) == 0  # exactly used up
    # an allowance that already covers the next swap is not approved again
    plan = eth.routing.plan_buy(pair, 40 * USDC, me)
    eth.executor.approve_if_needed(plan, on_signed=eth.recorded.append)
    assert allowance(eth.web3, eth.assets["USDC"], me, router) == 40 * USDC
    second = eth.executor.execute(plan, on_signed=eth.recorded.append)
    assert second.approval is None


def test_unlimited_approval_happens_once(eth) -> None:
    executor = UniswapV2SwapExecutor(eth.pipeline, eth.routing, ApprovalMode.unlimited)
    pair, me = eth.pairs["WETH-USDC"], eth.wallet.address
    outcomes = [
        executor.execute(eth.routing.plan_buy(pair, 10 * USDC, me), on_signed=eth.recorded.append)
        for _ in range(3)
    ]
    assert [o.approval is not None for o in outcomes] == [True, False, False]
    assert allowance(eth.web3, eth.assets["USDC"], me, eth.deployment.router) > MAX_UINT256 // 2


def test_swap_without_approval_fails_at_estimation_with_the_reason(eth) -> None:
    plan = eth.routing.plan_buy(eth.pairs["WETH-USDC"], 100 * USDC, eth.wallet.address)
    with pytest.raises(TransactionWouldRevert, match="TRANSFER_FROM_FAILED .*approval") as e:
        eth.pipeline.execute(plan.swap_request(), on_signed=eth.recorded.append)
    assert e.value.reason == "TransferHelper: TRANSFER_FROM_FAILED"
    assert eth.recorded == []  # nothing signed, no nonce used


def test_mined_revert_reports_the_replayed_reason(eth) -> None:
    """With a fixed gas limit (no estimate) the swap is mined and reverts; the receipt gets a reason."""
    plan = eth.routing.plan_buy(eth.pairs["WETH-USDC"], 100 * USDC, eth.wallet.address)
    request = plan.swap_request()
    fixed = TransactionRequest(
        to=request.to, data=request.data, gas_limit=300_000, description=request.description
    )
    confirmed = eth.pipeline.execute(fixed, on_signed=eth.recorded.append)
    assert not confirmed.succeeded
    assert confirmed.revert_reason == "TransferHelper: TRANSFER_FROM_FAILED"
    assert confirmed.gas_cost > 0


def test_slippage_exceeded_on_chain_reverts_with_the_reason(eth) -> None:
    """Another trader moves the price after we signed and before we broadcast."""
    pair, me = eth.pairs["WETH-USDC"], eth.wallet.address
    plan = eth.routing.plan_buy(pair, 1_000 * USDC, me)
    eth.executor.approve_if_needed(plan, on_signed=eth.recorded.append)

    def front_run(signed) -> None:
        eth.recorded.append(signed)
        move_market(eth.devchain, "USDC", "WETH", 50_000 * USDC)  # buys WETH: our price worsens ~5 %

    outcome = eth.executor.execute(plan, on_signed=front_run)
    assert not outcome.succeeded and outcome.amount_out == 0
    assert outcome.revert_reason == "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"
    with pytest.raises(SwapFailed, match="INSUFFICIENT_OUTPUT_AMOUNT .*--max-slippage") as e:
        outcome.raise_for_status()
    assert e.value.outcome is outcome
    assert balance_of(eth.web3, eth.assets["USDC"], me) == 10_000 * USDC  # nothing spent but gas


def test_slippage_exceeded_before_signing_is_refused(eth) -> None:
    pair, me = eth.pairs["WETH-USDC"], eth.wallet.address
    plan = eth.routing.plan_buy(pair, 1_000 * USDC, me)
    eth.executor.approve_if_needed(plan, on_signed=eth.recorded.append)
    move_market(eth.devchain, "USDC", "WETH", 50_000 * USDC)
    with pytest.raises(TransactionWouldRevert, match="INSUFFICIENT_OUTPUT_AMOUNT"):
        eth.executor.execute(plan, on_signed=eth.recorded.append)


def test_small_price_move_within_slippage_still_fills(eth) -> None:
    pair, me = eth.pairs["WETH-USDC"], eth.wallet.address
    plan = eth.routing.plan_buy(pair, 1_000 * USDC, me)
    move_market(eth.devchain, "USDC", "WETH", 2_000 * USDC)  # ~0.2 % move, under the 0.5 % bound
    outcome = eth.executor.execute(plan, on_signed=eth.recorded.append).raise_for_status()
    assert plan.amount_out_min <= outcome.amount_out < plan.expected_amount_out


def test_no_reserve_balance_is_a_clear_error(eth) -> None:
    usdc, me = eth.assets["USDC"], eth.wallet.address
    assert check_reserve_balance(eth.web3, me, usdc) == Decimal(10_000)
    stranger = eth.web3.eth.accounts[5]
    with pytest.raises(UserError, match=f"Hot wallet {stranger} holds 0 USDC.*deposit USDC"):
        check_reserve_balance(eth.web3, stranger, usdc)


def test_buying_more_than_the_balance_is_refused_before_signing_the_swap(eth) -> None:
    plan = eth.routing.plan_buy(eth.pairs["WETH-USDC"], 20_000 * USDC, eth.wallet.address)
    with pytest.raises(TransactionWouldRevert, match="TRANSFER_FROM_FAILED"):
        eth.executor.execute(plan, on_signed=eth.recorded.append)


def test_unknown_token_is_a_clear_error(eth) -> None:
    assert fetch_token(eth.web3, eth.assets["USDC"].address).decimals == 6
    with pytest.raises(UserError, match="There is no contract at token address .* check the token address"):
        fetch_token(eth.web3, eth.web3.eth.accounts[3])
    with pytest.raises(UserError, match="is not an ERC-20 token"):
        fetch_token(eth.web3, eth.deployment.router)
    with pytest.raises(UserError, match="is not a token address"):
        fetch_token(eth.web3, "0x1234")


def test_pair_of_another_exchange_is_refused(eth) -> None:
    from tradeexecutor.state.identifiers import TradingPairIdentifier

    pair = eth.pairs["WETH-USDC"]
    alien = TradingPairIdentifier(
        base=pair.base,
        quote=pair.quote,
        pool_address=eth.pairs["DEV-USDC"].pool_address,
        exchange_slug=pair.exchange_slug,
        fee_bps=pair.fee_bps,
    )
    with pytest.raises(UserError, match="is not a devchain-uniswap-v2 pool"):
        eth.routing.plan_buy(alien, 100 * USDC, eth.wallet.address)


def test_bad_amounts_are_refused(eth) -> None:
    with pytest.raises(UserError, match="needs a positive amount"):
        eth.routing.plan_buy(eth.pairs["WETH-USDC"], 0, eth.wallet.address)
    with pytest.raises(UserError, match="would get nothing back"):
        eth.routing.plan_sell(eth.pairs["WETH-USDC"], 1, eth.wallet.address)  # 1 wei of WETH


def test_recorded_swap_is_decoded_after_a_restart_from_the_record_alone(eth) -> None:
    """After a crash only the state's record exists: hash, signed bytes, nonce, side and pairs."""
    from tradeexecutor.ethereum.recovery import ResolutionStatus, resolve_transaction
    from tradeexecutor.ethereum.uniswap_v2.execution import decode_swap_amounts
    from tradeexecutor.ethereum.uniswap_v2.routing import trade_route

    pair, via = eth.pairs["DEV-WETH"], eth.pairs["WETH-USDC"]
    outcome = eth.executor.execute(
        eth.routing.plan_buy(pair, 100 * USDC, eth.wallet.address, intermediate=via),
        on_signed=eth.recorded.append,
    )
    record = eth.recorded[-1]
    resolution = resolve_transaction(eth.web3, record.tx_hash, record.raw_transaction, record.nonce)
    assert resolution.status == ResolutionStatus.mined and not resolution.rebroadcast
    amounts = decode_swap_amounts(trade_route("buy", pair, via), resolution.confirmed.receipt)
    assert amounts == (outcome.amount_in, outcome.amount_out)


def test_approvals_needed_for_each_allowance() -> None:
    from tradeexecutor.ethereum.settings import ApprovalMode
    from tradeexecutor.ethereum.uniswap_v2.routing import MAX_UINT256, approval_requests
    from tradeexecutor.state.identifiers import AssetIdentifier

    token = AssetIdentifier(chain_id=1, address="0x" + "11" * 20, symbol="USDT", decimals=6)
    spender = "0x" + "22" * 20
    assert approval_requests(token, spender, 100, 100, ApprovalMode.exact) == []
    (exact,) = approval_requests(token, spender, 0, 100, ApprovalMode.exact)
    assert exact.data.endswith(f"{100:064x}") and exact.to == token.address
    (unlimited,) = approval_requests(token, spender, 0, 100, ApprovalMode.unlimited)
    assert unlimited.data.endswith(f"{MAX_UINT256:064x}")
    reset, again = approval_requests(token, spender, 40, 100, ApprovalMode.exact)
    assert reset.data.endswith("0" * 64) and again.data.endswith(f"{100:064x}")
    assert "reset the USDT allowance to 0" in reset.description
