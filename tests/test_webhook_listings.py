"""`/positions` and `/trades` as the loop really publishes them: ordered by id in both directions,
paged over real HTTP, money rounded to the token's decimals; `/metadata` carries the currency."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import pytest
from webhook_client import get

from tests.state.factories import T0, USDC, WETH, WETH_USDC, funded_state, hours
from tradeexecutor.execution import publish
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.state import State
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

DEV = AssetIdentifier(chain_id=31337, address="0x" + "44" * 20, symbol="DEV", decimals=18)
DEV_USDC = TradingPairIdentifier(base=DEV, quote=USDC, pool_address="0x" + "55" * 20, exchange_slug="test")
# 8946.32101 USDC for 3 WETH: a price of 2982.107003333... that Decimal carries to 28 digits
ODD_RESERVE_RAW = 8_946_321_010


def fill(state: State, at: datetime.datetime, pair, *, reserve: Decimal | None = None, sell_all=None):
    if sell_all is not None:
        trade = state.plan_trade(
            at, pair, price=Decimal(2000), quantity=-sell_all.quantity, position=sell_all
        )
        quantity_raw = -sell_all.quantity_raw
        reserve_raw = 1_000_500_000
    else:
        trade = state.plan_trade(at, pair, price=Decimal(2000), reserve=reserve)
        quantity_raw, reserve_raw = 3 * 10**18, ODD_RESERVE_RAW
    state.start_trade(trade, at)
    state.settle_trade_success(
        trade,
        at,
        executed_quantity_raw=quantity_raw,
        executed_reserve_raw=reserve_raw,
        executed_price=Decimal(reserve_raw) / 10**6 / (Decimal(abs(quantity_raw)) / 10**18),
        lp_fees_reserve=Decimal(reserve_raw) / 10**6 * Decimal("0.003"),
    )
    return state.position_of(trade)


def mixed_state() -> State:
    """Position 1 open, 2 closed, 3 frozen, 4 closed, 5 open: the order the loop used to
    publish (open, frozen, closed) was 1, 5, 3, 2, 4; trades were published newest first."""
    state = funded_state(Decimal(100_000))
    first = fill(state, T0, WETH_USDC, reserve=Decimal(9000))
    state.revalue_position(first, T0 + hours(1), Decimal("2982.107003333333333333333333"))
    second = fill(state, T0 + hours(1), DEV_USDC, reserve=Decimal(9000))
    fill(state, T0 + hours(2), DEV_USDC, sell_all=second)
    third = fill(state, T0 + hours(3), DEV_USDC, reserve=Decimal(9000))
    state.freeze_position(third, T0 + hours(4), "the sell reverted")
    fourth_pair = TradingPairIdentifier(
        base=AssetIdentifier(chain_id=31337, address="0x" + "66" * 20, symbol="FOO", decimals=18),
        quote=USDC,
        pool_address="0x" + "77" * 20,
        exchange_slug="test",
    )
    fourth = fill(state, T0 + hours(5), fourth_pair, reserve=Decimal(9000))
    fill(state, T0 + hours(6), fourth_pair, sell_all=fourth)
    fill(state, T0 + hours(7), fourth_pair, reserve=Decimal(9000))
    return state


@pytest.fixture(scope="module")
def state() -> State:
    return mixed_state()


@pytest.fixture(scope="module")
def server(state: State) -> Iterator[WebhookServer]:
    run_state = RunState(StrategyMetadata("mixed", "Mixed"))
    run_state.publish(
        positions=publish.positions_documents(state),
        trades=publish.trades_documents(state),
        summary=publish.portfolio_summary(state),
    )
    webhook = WebhookServer(WebhookConfig(port=0), run_state)
    webhook.start()
    yield webhook
    webhook.stop()


def page_through(port: int, path: str, key: str, id_key: str, limit: int, order: str) -> list[int]:
    ids: list[int] = []
    offset = 0
    while True:
        doc = get(port, f"{path}?offset={offset}&limit={limit}&order={order}").json()
        assert (doc["offset"], doc["limit"], doc["order"]) == (offset, limit, order)
        page = [item[id_key] for item in doc[key]]
        if not page:
            return ids
        assert len(page) <= limit
        ids += page
        offset += limit


@pytest.mark.parametrize(
    ("path", "key", "id_key"), [("/positions", "positions", "position_id"), ("/trades", "trades", "trade_id")]
)
def test_listings_are_sorted_by_id_both_ways_and_page_through_everything(
    server: WebhookServer, path: str, key: str, id_key: str
) -> None:
    everything = get(server.port, path).json()
    ids = [item[id_key] for item in everything[key]]
    assert ids == sorted(ids) and len(ids) == everything["total"] > 4
    assert ids[0] == 1, "the default order is ascending: oldest first"
    for limit in (1, 2, 3, 1000):
        assert page_through(server.port, path, key, id_key, limit, "asc") == ids
        assert page_through(server.port, path, key, id_key, limit, "desc") == ids[::-1]
    newest_two = get(server.port, f"{path}?order=desc&limit=2").json()
    assert [item[id_key] for item in newest_two[key]] == ids[:-3:-1]


def test_positions_of_every_status_are_listed_by_id(server: WebhookServer) -> None:
    positions = get(server.port, "/positions").json()["positions"]
    assert [(p["position_id"], p["status"]) for p in positions] == [
        (1, "open"),
        (2, "closed"),
        (3, "frozen"),
        (4, "closed"),
        (5, "open"),
    ]


def test_money_is_rounded_to_the_tokens_decimals(server: WebhookServer, state: State) -> None:
    first = get(server.port, "/positions?limit=1").json()["positions"][0]
    trade = get(server.port, "/trades?limit=1").json()["trades"][0]
    # the values Decimal arithmetic produced carry 28 digits ...
    position = state.portfolio.get_position(1)
    assert len(str(position.value()).replace(".", "")) == 28
    # ... the webhook serves what the tokens can hold
    assert first["value"] == "8946.32101"  # USDC: 6 decimals
    assert first["quantity"] == "3"  # WETH: 18 decimals, no trailing zeros
    assert first["current_price"] == "2982.107003"
    assert trade["value"] == "8946.32101" and trade["price"] == "2982.107003"
    assert trade["lp_fees"] == "26.838963"  # 0.3 % of 8946.32101, rounded to 6 decimals
    for item in (first, trade):
        for name, value in item.items():
            if isinstance(value, str) and value[:1].isdigit():
                decimals = value.partition(".")[2]
                assert len(decimals) <= (18 if name == "quantity" else 6), (name, value)
                assert "E" not in value and not value.endswith("0") or "." not in value, (name, value)


def test_tiny_prices_keep_their_significant_digits() -> None:
    assert publish.price_amount(Decimal("0.0000001234567891234"), 6) == "0.00000012345679"
    assert publish.price_amount(Decimal("2000.123456789"), 6) == "2000.123457"
    assert publish.token_amount(Decimal("-0.0000001"), 6) == "0"
    assert publish.token_amount(Decimal("1000.000"), 6) == "1000"
    assert (
        publish.token_amount(Decimal("1000000000000.123456789012345678"), 18)
        == "1000000000000.123456789012345678"
    )


def test_metadata_names_the_currency_and_the_profit(server: WebhookServer, state: State) -> None:
    summary = get(server.port, "/metadata").json()["summary"]
    assert summary["currency"] == "USDC"
    equity = state.portfolio.total_equity()
    assert Decimal(summary["total_equity"]) == equity.quantize(Decimal("0.000001"))
    realised = sum(p.realised_profit() for p in state.portfolio.all_positions())
    unrealised = sum(p.unrealised_profit() for p in state.portfolio.all_positions())
    assert Decimal(summary["profit"]) == (realised + unrealised).quantize(Decimal("0.000001"))
    assert summary["open_positions"] == 2 and summary["frozen_positions"] == 1


def test_publishing_out_of_order_still_lists_by_id() -> None:
    run_state = RunState(StrategyMetadata("x", "x"))
    snapshot = run_state.publish(trades=[{"trade_id": i} for i in (3, 1, 2)])
    assert snapshot.trades_json == (b'{"trade_id":1}', b'{"trade_id":2}', b'{"trade_id":3}')
    with pytest.raises(ValueError, match="integer 'trade_id'"):
        run_state.publish(trades=[{"trade_id": "7"}])
    assert WETH.decimals == 18  # the factories' tokens are what the amounts above assume
