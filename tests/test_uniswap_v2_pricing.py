"""Pool math from reserves, checked against the real router and pools on the devchain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tradeexecutor.ethereum.abi import UNISWAP_V2_ROUTER, abi
from tradeexecutor.ethereum.uniswap_v2.pricing import (
    ReserveFetcher,
    buy_price,
    get_amount_in,
    get_amount_out,
    mid_price,
    sell_price,
    value_position,
)

reserves_st = st.integers(min_value=10**3, max_value=2**112 - 1)


@settings(max_examples=300)
@given(amount=st.integers(min_value=1, max_value=2**100), r_in=reserves_st, r_out=reserves_st)
@example(amount=1000, r_in=1000, r_out=6042344030698337)  # exact division: the router's +1 shows
def test_amount_in_is_the_least_that_buys_amount_out(amount: int, r_in: int, r_out: int) -> None:
    out = get_amount_out(amount, r_in, r_out)
    if out == 0 or out >= r_out:
        return
    needed = get_amount_in(out, r_in, r_out)
    # like the router's getAmountIn, the result rounds up and adds 1: at most 1 over the least input
    assert needed <= amount + 1
    assert get_amount_out(needed, r_in, r_out) >= out


def test_pancake_fee_pays_more_than_uniswap_fee() -> None:
    assert get_amount_out(10**18, 10**21, 10**21, 25) > get_amount_out(10**18, 10**21, 10**21, 30)


def test_mid_price_of_devchain_pools(eth) -> None:
    reserves = ReserveFetcher(eth.web3).fetch(list(eth.pairs.values()))
    assert mid_price(reserves[eth.pairs["WETH-USDC"].key]) == Decimal(2000)
    assert mid_price(reserves[eth.pairs["DEV-USDC"].key]) == Decimal(5)
    assert mid_price(reserves[eth.pairs["DEV-WETH"].key]) == Decimal("0.0025")
    assert len({r.block_number for r in reserves.values()}) == 1  # all read at one block


def test_reserves_are_fetched_in_one_batch(eth) -> None:
    from rpc_proxy import RpcProxy

    from tradeexecutor.ethereum.connection import create_web3

    with RpcProxy(eth.devchain.rpc_url) as proxy:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": proxy.url}, check_chain=False)
        ReserveFetcher(web3).fetch(list(eth.pairs.values()))
        assert len(proxy.requests) == 2  # the block, then one batch with three eth_call
        assert proxy.methods().count("eth_call") == 3


@pytest.mark.parametrize("ticker", ["WETH-USDC", "DEV-USDC", "DEV-WETH"])
@pytest.mark.parametrize("size", [Decimal("0.001"), Decimal(1), Decimal(10_000)])
def test_buy_and_sell_amounts_equal_router_quotes(eth, ticker: str, size: Decimal) -> None:
    pair = eth.pairs[ticker]
    router = eth.web3.eth.contract(address=eth.deployment.router, abi=abi(UNISWAP_V2_ROUTER))
    reserves = ReserveFetcher(eth.web3).fetch_one(pair)
    quote_in = pair.quote.to_raw(size)
    buy = buy_price(reserves, quote_in)
    assert (
        buy.amount_out
        == router.functions.getAmountsOut(quote_in, [pair.quote.address, pair.base.address]).call()[-1]
    )
    base_in = pair.base.to_raw(size / 1000)
    sell = sell_price(reserves, base_in)
    assert (
        sell.amount_out
        == router.functions.getAmountsOut(base_in, [pair.base.address, pair.quote.address]).call()[-1]
    )
    mid = mid_price(reserves)
    assert sell.price < mid < buy.price  # the spread: fee plus impact on both sides
    assert buy.lp_fee == size * Decimal("0.003")
    assert buy.price_impact >= 0 and sell.price_impact >= 0


def test_price_impact_grows_with_size(eth) -> None:
    reserves = ReserveFetcher(eth.web3).fetch_one(eth.pairs["WETH-USDC"])
    small, large = buy_price(reserves, 10 * 10**6), buy_price(reserves, 100_000 * 10**6)
    assert small.price_impact < Decimal("0.0001") < Decimal("0.04") < large.price_impact
    # fee alone would make the price mid / 0.997; impact comes on top
    assert small.price > small.mid_price / Decimal("0.997") * Decimal("0.99999")


def test_value_position_is_what_a_real_sale_fetches(eth) -> None:
    pair = eth.pairs["WETH-USDC"]
    fetcher = ReserveFetcher(eth.web3)
    bought = eth.executor.execute(
        eth.routing.plan_buy(pair, 1_000 * 10**6, eth.wallet.address), on_signed=eth.recorded.append
    )
    quantity = bought.amount_out
    valued = value_position(fetcher.fetch_one(pair), quantity)
    sold = eth.executor.execute(
        eth.routing.plan_sell(pair, quantity, eth.wallet.address), on_signed=eth.recorded.append
    )
    assert pair.quote.to_decimal(sold.amount_out) == valued
    assert value_position(fetcher.fetch_one(pair), 0) == 0
