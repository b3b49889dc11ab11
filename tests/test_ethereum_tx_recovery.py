"""The transaction pipeline's guarantees: record before broadcast, confirmations, and recovery."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.recovery import ResolutionStatus, decode_signed_transaction, resolve_transaction
from tradeexecutor.ethereum.tx import (
    ConfirmationTimeout,
    TransactionPipeline,
    TransactionRequest,
    is_known_to_node,
    send_raw,
)
from tradeexecutor.ethereum.wallet import HotWallet


def transfer(eth, value: int = 1) -> TransactionRequest:
    return TransactionRequest(
        to=eth.web3.eth.accounts[1], data="0x", value=value, description=f"send {value} wei"
    )


@contextlib.contextmanager
def automine_off(web3):
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        yield
    finally:
        web3.provider.make_request("evm_setAutomine", [True])


@contextlib.contextmanager
def mining_every(web3, seconds: float):
    stop = threading.Event()

    def mine() -> None:
        while not stop.wait(seconds):
            web3.provider.make_request("evm_mine", [])

    thread = threading.Thread(target=mine, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def sign_and_send(eth, request: TransactionRequest):
    signed = eth.pipeline.sign(eth.pipeline.build(request), request.description)
    eth.recorded.append(signed)
    eth.pipeline.broadcast(signed)
    return signed


def test_on_signed_is_mandatory(eth) -> None:
    with pytest.raises(TypeError):
        eth.pipeline.execute(transfer(eth))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="on_signed is mandatory"):
        eth.pipeline.execute(transfer(eth), on_signed=None)  # type: ignore[arg-type]


def test_signed_info_round_trips_through_its_raw_bytes(eth) -> None:
    signed = eth.pipeline.sign(eth.pipeline.build(transfer(eth, 7)), "send 7 wei")
    decoded = decode_signed_transaction(signed.raw_transaction, "send 7 wei")
    assert decoded.tx_hash == signed.tx_hash and decoded.nonce == signed.nonce
    assert decoded.from_address == eth.wallet.address and decoded.value == 7
    assert decoded.max_fee_per_gas == signed.max_fee_per_gas and decoded.gas_limit == signed.gas_limit


def test_waits_for_n_confirmations(eth) -> None:
    pipeline = TransactionPipeline(eth.web3, eth.wallet, confirmation_block_count=3, confirmation_timeout=30)
    with mining_every(eth.devchain.web3, 0.1):
        confirmed = pipeline.execute(transfer(eth), on_signed=eth.recorded.append)
    assert confirmed.succeeded
    assert eth.web3.eth.block_number >= confirmed.block_number + 2


def test_confirmation_timeout_says_mined_but_unconfirmed(eth) -> None:
    pipeline = TransactionPipeline(eth.web3, eth.wallet, confirmation_block_count=3, confirmation_timeout=0.5)
    with pytest.raises(ConfirmationTimeout, match="mined in block .* but not yet confirmed after 0.5 s"):
        pipeline.execute(transfer(eth), on_signed=eth.recorded.append)


def test_dropped_transaction_is_rebroadcast_from_recorded_bytes(eth) -> None:
    web3 = eth.devchain.web3
    with automine_off(web3):
        signed = sign_and_send(eth, transfer(eth, 42))
        assert is_known_to_node(eth.web3, signed.tx_hash)
        web3.provider.make_request("anvil_dropTransaction", [signed.tx_hash])
        assert not is_known_to_node(eth.web3, signed.tx_hash)
    # a restarted executor has only what it recorded: hash, signed bytes, nonce
    record = eth.recorded[-1]
    resolution = resolve_transaction(
        eth.web3, record.tx_hash, record.raw_transaction, record.nonce, timeout=10
    )
    assert resolution.status == ResolutionStatus.mined and resolution.rebroadcast
    assert resolution.confirmed.succeeded and resolution.confirmed.tx_hash == signed.tx_hash


def test_replaced_transaction_is_reported_dropped(eth) -> None:
    web3 = eth.devchain.web3
    with automine_off(web3):
        first = sign_and_send(eth, transfer(eth, 1))
        web3.provider.make_request("anvil_dropTransaction", [first.tx_hash])
        eth.wallet.forget_nonce()
        second = sign_and_send(eth, transfer(eth, 2))  # same nonce, different transaction
        assert second.nonce == first.nonce and second.tx_hash != first.tx_hash
    eth.pipeline.wait(second)
    resolution = resolve_transaction(eth.web3, first.tx_hash, first.raw_transaction, first.nonce, timeout=2)
    assert resolution.status == ResolutionStatus.dropped and not resolution.rebroadcast
    assert f"nonce {first.nonce}" in resolution.detail and "another transaction" in resolution.detail


def test_pending_transaction_is_waited_for_not_rebroadcast(eth) -> None:
    web3 = eth.devchain.web3
    with automine_off(web3):
        signed = sign_and_send(eth, transfer(eth))
        still = resolve_transaction(
            eth.web3, signed.tx_hash, signed.raw_transaction, signed.nonce, timeout=0.3
        )
        assert still.status == ResolutionStatus.pending
        with mining_every(web3, 0.2):
            done = resolve_transaction(
                eth.web3, signed.tx_hash, signed.raw_transaction, signed.nonce, timeout=10
            )
    assert done.status == ResolutionStatus.mined and not done.rebroadcast


def test_rebroadcast_of_known_or_mined_transaction_is_harmless(eth) -> None:
    web3 = eth.devchain.web3
    with automine_off(web3):
        signed = sign_and_send(eth, transfer(eth))
        send_raw(eth.web3, signed)  # "already imported" / "already known"
    web3.provider.make_request("evm_mine", [])
    confirmed = eth.pipeline.wait(signed)
    send_raw(eth.web3, signed)  # "nonce too low", but it is our own mined transaction
    assert confirmed.succeeded
    resolution = resolve_transaction(eth.web3, signed.tx_hash, signed.raw_transaction, signed.nonce)
    assert (
        resolution.status == ResolutionStatus.mined
        and resolution.confirmed.block_number == confirmed.block_number
    )


def test_mismatched_record_is_refused(eth) -> None:
    signed = eth.pipeline.sign(eth.pipeline.build(transfer(eth)), "")
    with pytest.raises(ValueError, match="do not match"):
        resolve_transaction(eth.web3, signed.tx_hash, signed.raw_transaction, signed.nonce + 1)


def test_node_restart_mid_confirmation(tmp_path: Path, caplog) -> None:
    """The node dies after our transaction was mined; the waiter rides it out and finishes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tmp_path / "anvil-state.json"
    first = AnvilProcess(port=port, chain_id=31337, extra_args=("--dump-state", str(state)))
    first.start()
    second = AnvilProcess(port=port, chain_id=31337, extra_args=("--load-state", str(state)))
    try:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": first.url}, backoff=0.05)
        wallet = HotWallet.create()
        web3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**18)])
        pipeline = TransactionPipeline(web3, wallet, confirmation_block_count=3, confirmation_timeout=60)
        result: dict = {}

        def run() -> None:
            def recorded(signed) -> None:
                result["signed"] = signed

            try:
                result["confirmed"] = pipeline.execute(
                    TransactionRequest(to=wallet.address, data="0x", value=1), on_signed=recorded
                )
            except Exception as e:  # surfaced by the assertion below
                result["error"] = e

        waiter = threading.Thread(target=run)
        waiter.start()
        deadline = time.monotonic() + 10
        while "signed" not in result or not web3.eth.get_transaction_count(wallet.address):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        mined_in = web3.eth.block_number
        with caplog.at_level(logging.WARNING):
            first.stop()  # dumps its state on the way out
            deadline = time.monotonic() + 10
            while "Node unreachable while waiting" not in caplog.text:  # the waiter met the dead node
                assert time.monotonic() < deadline
                time.sleep(0.05)
            second.start()
        web3.provider.make_request("anvil_mine", ["0x2"])
        waiter.join(30)
        assert not waiter.is_alive()
        assert "error" not in result, result.get("error")
        confirmed = result["confirmed"]
        assert confirmed.succeeded and confirmed.block_number == mined_in
        assert confirmed.tx_hash == result["signed"].tx_hash
    finally:
        first.stop()
        second.stop()
