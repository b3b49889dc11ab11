"""JSON-RPC connection: failover, retries, chain id check, and URLs kept secret."""

from __future__ import annotations

import logging
import socket

import pytest
from rpc_proxy import RpcProxy
from web3.exceptions import ContractLogicError

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.connection import (
    FailoverHTTPProvider,
    RPCUnavailable,
    create_web3,
    parse_rpc_urls,
    redact_url,
    rpc_env_var,
)

SECRET = "sk-do-not-leak-123"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redact_url_keeps_scheme_and_host_only() -> None:
    assert redact_url(f"https://user:pw@eth.example.com/v3/{SECRET}?k={SECRET}") == "https://eth.example.com"
    assert redact_url(f"http://127.0.0.1:8545/{SECRET}") == "http://127.0.0.1:8545"
    assert redact_url("not a url") == "<unparseable URL>"


def test_env_var_names_follow_chain_names() -> None:
    assert rpc_env_var(1) == "JSON_RPC_ETHEREUM"
    assert rpc_env_var(56) == "JSON_RPC_BINANCE"
    assert rpc_env_var(137) == "JSON_RPC_POLYGON"
    assert rpc_env_var(31337) == "JSON_RPC_ANVIL"
    assert rpc_env_var(999) == "JSON_RPC_CHAIN_999"


def test_bad_url_list_is_rejected_without_echoing_it() -> None:
    with pytest.raises(UserError, match="Entry 2 of JSON_RPC_ETHEREUM") as e:
        parse_rpc_urls(f"https://a.example.com/{SECRET} wss://b.example.com/{SECRET}", "JSON_RPC_ETHEREUM")
    assert SECRET not in str(e.value)


def test_missing_env_var_names_it() -> None:
    with pytest.raises(UserError, match="JSON_RPC_POLYGON is not set"):
        create_web3(137, {})


def test_connects_and_checks_chain(devchain) -> None:
    web3 = create_web3(31337, {"JSON_RPC_ANVIL": devchain.rpc_url})
    assert web3.eth.block_number > 0


def test_wrong_chain_names_both_ids_and_the_env_var(devchain) -> None:
    with pytest.raises(UserError) as e:
        create_web3(1, {"JSON_RPC_ETHEREUM": devchain.rpc_url})
    message = str(e.value)
    assert "chain 31337" in message and "CHAIN_ID is 1" in message and "JSON_RPC_ETHEREUM" in message


def test_unreachable_node_is_one_sentence_without_the_url_path(caplog) -> None:
    port = closed_port()
    with caplog.at_level(logging.DEBUG), pytest.raises(RPCUnavailable) as e:
        create_web3(31337, {"JSON_RPC_ANVIL": f"http://127.0.0.1:{port}/{SECRET}"}, retries=2, backoff=0.01)
    message = str(e.value)
    assert f"http://127.0.0.1:{port} connection failed" in message
    assert "JSON_RPC_ANVIL" in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert SECRET not in message and SECRET not in caplog.text
    assert e.value.__cause__ is None and e.value.__context__ is None  # no chained requests error with the URL


def test_fails_over_to_the_second_url_when_the_first_is_dead(devchain, caplog) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/{SECRET}"
    with caplog.at_level(logging.WARNING):
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{dead} {devchain.rpc_url}"}, backoff=0.01)
        assert web3.eth.block_number > 0
    provider = web3.provider
    assert isinstance(provider, FailoverHTTPProvider)
    assert provider.current_host == redact_url(devchain.rpc_url)  # sticks to the working node
    assert "failover" in caplog.text and SECRET not in caplog.text


def test_fails_over_on_http_5xx_and_429(devchain) -> None:
    with RpcProxy(devchain.rpc_url) as broken, RpcProxy(devchain.rpc_url) as good:
        broken.status = 503
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{broken.url} {good.url}"}, backoff=0.01)
        assert web3.eth.block_number > 0
        broken.status = 429
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{broken.url} {good.url}"}, backoff=0.01)
        assert web3.eth.get_balance(devchain.deployment.hot_wallet) > 0
        assert len(good.requests) >= 3


def test_fails_over_on_timeout(devchain) -> None:
    with RpcProxy(devchain.rpc_url) as slow:
        slow.delay = 1.0
        provider = FailoverHTTPProvider([slow.url, devchain.rpc_url], timeout=(1, 0.2), backoff=0.01)
        response = provider.make_request("eth_chainId", [])  # type: ignore[arg-type]
        assert int(response["result"], 16) == 31337


def test_revert_is_returned_unchanged_not_failed_over(devchain) -> None:
    """A JSON-RPC error is the node's answer: web3 raises it and the second node is never asked."""
    with RpcProxy(devchain.rpc_url) as first, RpcProxy(devchain.rpc_url) as second:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{first.url} {second.url}"})
        from tradeexecutor.ethereum.abi import UNISWAP_V2_ROUTER, abi

        router = web3.eth.contract(address=devchain.deployment.router, abi=abi(UNISWAP_V2_ROUTER))
        usdc = devchain.deployment.token("USDC").address
        with pytest.raises(ContractLogicError, match="INVALID_PATH"):
            router.functions.getAmountsOut(1, [usdc]).call()
        assert "eth_call" in first.methods()
        assert second.requests == []


def test_every_url_down_retries_with_backoff_then_gives_up(devchain) -> None:
    with RpcProxy(devchain.rpc_url) as a, RpcProxy(devchain.rpc_url) as b:
        a.status = b.status = 502
        provider = FailoverHTTPProvider([a.url, b.url], retries=3, backoff=0.01)
        with pytest.raises(RPCUnavailable, match="answered HTTP 502"):
            provider.make_request("eth_blockNumber", [])  # type: ignore[arg-type]
        assert len(a.requests) == 3 and len(b.requests) == 3


def test_batch_requests_go_through_the_failover_provider(devchain) -> None:
    from tradeexecutor.ethereum.batch import batch_rpc

    dead = f"http://127.0.0.1:{closed_port()}"
    web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{dead} {devchain.rpc_url}"}, backoff=0.01)
    results = batch_rpc(web3, [("eth_getBlockByNumber", [hex(n), False]) for n in range(1, 4)])
    assert [int(r["number"], 16) for r in results] == [1, 2, 3]
    with web3.batch_requests() as batch:  # web3's own batching API works over the provider too
        batch.add(web3.eth.get_block(2))
        batch.add(web3.eth.get_balance(devchain.deployment.hot_wallet))
        block, balance = batch.execute()
    assert block["number"] == 2 and balance == 100 * 10**18


def test_is_connected_is_false_for_a_dead_node() -> None:
    from web3 import Web3

    assert not Web3(FailoverHTTPProvider([f"http://127.0.0.1:{closed_port()}"], retries=1)).is_connected()


def test_failover_never_lands_on_a_node_of_another_chain(devchain, caplog) -> None:
    from tradeexecutor.devchain.anvil import AnvilProcess

    with RpcProxy(devchain.rpc_url) as good, AnvilProcess(chain_id=1) as mainnet_fork:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": f"{good.url} {mainnet_fork.url}"}, retries=1)
        assert web3.eth.chain_id == 31337
        good.status = 503  # the right node goes down; the second URL is another chain's node
        with caplog.at_level(logging.ERROR), pytest.raises(RPCUnavailable, match="is on chain 1, not 31337"):
            web3.eth.get_balance(devchain.deployment.hot_wallet)
        assert "never used" in caplog.text
        good.status = None  # back: it is used again, the wrong node still not
        assert web3.eth.block_number > 0
        assert web3.provider.current_host == redact_url(good.url)


def test_batch_answered_out_of_order_comes_back_in_request_order() -> None:
    """JSON-RPC 2.0 lets a node answer a batch in any order: each result goes to its own call."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from web3 import Web3

    from tradeexecutor.ethereum.batch import batch_rpc

    class Reversed(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(
                [{"jsonrpc": "2.0", "id": c["id"], "result": c["params"][0]} for c in reversed(calls)]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Reversed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        web3 = Web3(FailoverHTTPProvider([f"http://127.0.0.1:{server.server_port}"], retries=1))
        results = batch_rpc(web3, [("eth_getBlockByNumber", [hex(n), False]) for n in range(5)])
    finally:
        server.shutdown()
        server.server_close()
    assert results == [hex(n) for n in range(5)]
