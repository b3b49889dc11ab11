"""The fault proxy fails the way real nodes fail: refused connections, black holes that deliver
late, slow answers, and faults armed to a given request."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tradeexecutor.devchain.rpc_proxy import BLACKHOLE, REFUSE, SLOW, RpcProxy

BLOCK_NUMBER = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}


@pytest.fixture()
def proxy(devchain_session):
    with RpcProxy(devchain_session.rpc_url) as proxy:
        yield proxy


def call(proxy: RpcProxy, timeout: float = 5.0) -> dict:
    return requests.post(proxy.url, json=BLOCK_NUMBER, timeout=timeout).json()


def test_refuse_closes_the_port_and_heal_reopens_it(proxy) -> None:
    assert "result" in call(proxy)
    proxy.set_mode(REFUSE)
    with pytest.raises(requests.ConnectionError, match="Connection refused"):
        call(proxy)
    proxy.heal()
    assert "result" in call(proxy)


def test_blackhole_holds_requests_and_delivers_them_when_healed(proxy) -> None:
    proxy.set_mode(BLACKHOLE)
    with pytest.raises(requests.ReadTimeout):
        call(proxy, timeout=0.3)
    threading.Timer(0.3, proxy.heal).start()
    assert "result" in call(proxy)  # held, then answered


def test_slow_answers_late_and_armed_faults_fire_once_on_their_request(proxy) -> None:
    proxy.slow_seconds = 0.3
    proxy.set_mode(SLOW)
    started = time.monotonic()
    assert "result" in call(proxy)
    assert time.monotonic() - started >= 0.3
    proxy.heal()
    fired: list = []
    proxy.arm(
        lambda p: p.get("method") == "eth_chainId",
        lambda p: fired.append(p["method"]) or proxy.set_mode(REFUSE),
    )
    assert "result" in call(proxy)  # not the armed method
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url, json={**BLOCK_NUMBER, "method": "eth_chainId"}, timeout=5)
    proxy.heal()
    requests.post(proxy.url, json={**BLOCK_NUMBER, "method": "eth_chainId"}, timeout=5)
    assert fired == ["eth_chainId"]
