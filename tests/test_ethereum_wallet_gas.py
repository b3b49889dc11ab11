"""Hot wallet (key handling, nonces, create-wallet) and gas (pricing, padding, balance check)."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import pytest
from eth_account import Account

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.gas import (
    GasPriceMethod,
    GasPricing,
    check_gas_balance,
    fetch_gas_pricing,
    pad_gas_limit,
    replacement_fees,
)
from tradeexecutor.ethereum.tx import TransactionPipeline, TransactionRequest
from tradeexecutor.ethereum.wallet import HotWallet

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def test_key_from_env_is_never_shown() -> None:
    wallet = HotWallet.from_env({"PRIVATE_KEY": KEY})
    assert wallet.address == Account.from_key(KEY).address
    for text in (repr(wallet), str(wallet), f"{wallet}"):
        assert KEY[2:] not in text and wallet.address in text
    assert (
        HotWallet.from_env({"PRIVATE_KEY": KEY[2:] + "\n"}).address == wallet.address
    )  # no 0x, trailing newline


@pytest.mark.parametrize(
    "bad",
    [
        KEY[:-2],  # too short
        KEY + "00",  # too long
        KEY[:-1] + "g",  # not hex
        "0x" + "00" * 32,  # zero is not a key
        "0x" + "ff" * 32,  # above the curve order
        "correct horse battery staple " * 3,
    ],
)
def test_malformed_key_is_rejected_without_echoing_it(bad: str) -> None:
    with pytest.raises(UserError, match="PRIVATE_KEY is not a valid") as e:
        HotWallet.from_env({"PRIVATE_KEY": bad})
    text = str(e.value)
    assert bad.strip() not in text and bad.strip()[2:12] not in text
    assert e.value.__context__ is None and e.value.__cause__ is None


def test_missing_key_says_where_to_put_it() -> None:
    with pytest.raises(UserError, match="PRIVATE_KEY is not set.*create-wallet"):
        HotWallet.from_env({})


def test_create_wallet_prints_a_working_key_and_a_warning() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from tradeexecutor.cli.main import run; run(['create-wallet'])"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    fields = dict(re.findall(r"^  (address|private key)\s+(\S+)$", result.stdout, re.M))
    assert Account.from_key(fields["private key"]).address == fields["address"]
    assert "Store the private key safely" in result.stdout


def test_nonce_is_local_and_resynced_from_chain(eth) -> None:
    wallet, web3 = eth.wallet, eth.web3
    start = web3.eth.get_transaction_count(wallet.address, "pending")
    assert [wallet.allocate_nonce(web3) for _ in range(3)] == [start, start + 1, start + 2]
    wallet.forget_nonce()  # e.g. after a failed broadcast: those three were never sent
    assert wallet.allocate_nonce(web3) == start


def test_on_signed_failure_gives_the_nonce_back_and_sends_nothing(eth) -> None:
    web3, wallet = eth.web3, eth.wallet
    before = web3.eth.get_transaction_count(wallet.address, "pending")

    def save_fails(_signed) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        eth.pipeline.execute(TransactionRequest(to=wallet.address, data="0x", value=1), on_signed=save_fails)
    assert web3.eth.get_transaction_count(wallet.address, "pending") == before
    confirmed = eth.pipeline.execute(
        TransactionRequest(to=wallet.address, data="0x", value=1), on_signed=eth.recorded.append
    )
    assert confirmed.signed.nonce == before and confirmed.succeeded


def test_london_is_detected_and_fields_are_eip1559(eth) -> None:
    pricing = fetch_gas_pricing(eth.web3)
    assert pricing.method == GasPriceMethod.london
    assert pricing.max_fee == 2 * pricing.base_fee + pricing.max_priority_fee
    assert set(pricing.tx_fields()) == {"maxFeePerGas", "maxPriorityFeePerGas"}
    assert "method:london" in str(pricing)


def test_legacy_override_sends_a_type_0_transaction(eth) -> None:
    pipeline = TransactionPipeline(eth.web3, eth.wallet, gas_price_method="legacy")
    confirmed = pipeline.execute(
        TransactionRequest(to=eth.wallet.address, data="0x", value=1), on_signed=eth.recorded.append
    )
    assert confirmed.signed.gas_price and confirmed.signed.max_fee_per_gas is None
    assert eth.web3.eth.get_transaction(confirmed.tx_hash)["type"] == 0


def test_legacy_is_detected_on_a_chain_without_base_fee() -> None:
    with AnvilProcess(extra_args=("--hardfork", "berlin")) as node:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": node.url})
        assert fetch_gas_pricing(web3).method == GasPriceMethod.legacy
        with pytest.raises(UserError, match="--gas-price-method legacy"):
            fetch_gas_pricing(web3, "london")


def test_gas_estimates_are_padded(eth) -> None:
    request = TransactionRequest(to=eth.wallet.address, data="0x", value=1)
    assert eth.pipeline.estimate_gas(request) == pad_gas_limit(21_000) == 25_200


def test_no_gas_money_is_a_clear_error(eth) -> None:
    web3, address = eth.web3, eth.wallet.address
    assert check_gas_balance(web3, address, 31337) == Decimal(100)
    web3.provider.make_request("anvil_setBalance", [address, hex(10**15)])
    with pytest.raises(
        UserError, match=r"has 0.001 ETH for gas, below the minimum of 0.01 ETH \(--min-gas-balance\)"
    ):
        check_gas_balance(web3, address, 31337)
    assert check_gas_balance(web3, address, 31337, Decimal("0.0005")) == Decimal("0.001")
    web3.provider.make_request("anvil_setBalance", [address, "0x0"])
    with pytest.raises(UserError, match="not enough ETH to pay for gas"):
        eth.pipeline.execute(
            TransactionRequest(to=address, data="0x", value=0), on_signed=eth.recorded.append
        )
    assert eth.recorded == []


def test_replacement_outbids_the_stuck_transaction_even_when_fees_fell() -> None:
    cheap_now = GasPricing(method=GasPriceMethod.london, base_fee=10, max_priority_fee=1, max_fee=21)
    fees = replacement_fees(cheap_now, max_fee=1_000, max_priority_fee=100)
    assert fees == {"maxFeePerGas": 1_126, "maxPriorityFeePerGas": 114}  # +12.5 % (rounded up) and one wei


def test_replacement_pays_today_s_price_when_fees_rose() -> None:
    spike = GasPricing(
        method=GasPriceMethod.london, base_fee=10**11, max_priority_fee=10**9, max_fee=2 * 10**11 + 10**9
    )
    fees = replacement_fees(spike, max_fee=2 * 10**9, max_priority_fee=10**9)
    assert fees == {"maxFeePerGas": 2 * 10**11 + 10**9, "maxPriorityFeePerGas": 1_125_000_001}


def test_legacy_replacement_bumps_the_gas_price() -> None:
    legacy = GasPricing(method=GasPriceMethod.legacy, legacy_gas_price=5)
    assert replacement_fees(legacy, gas_price=800) == {"gasPrice": 901}
    assert replacement_fees(legacy, max_fee=800) == {
        "gasPrice": 901
    }  # a london tx replaced on a legacy setting
