"""--simulate: the same commands on an anvil fork of the devchain; the forked-from chain and the real state stay untouched."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from tests.live.state_file import load_state
from tests.live.toolbox import one_sentence_error
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeType


def chain_fingerprint(operator) -> tuple:
    web3, wallet = operator.live.eth.web3, operator.live.eth.wallet.address
    assets = operator.live.eth.assets
    return (
        web3.eth.block_number,
        web3.eth.get_transaction_count(wallet),
        web3.eth.get_balance(wallet),
        balance_of(web3, assets["USDC"], wallet),
        balance_of(web3, assets["WETH"], wallet),
    )


def test_simulated_test_trade_leaves_the_real_chain_and_state_untouched(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))  # a real state with a real open WETH position
    real_before = operator.state_path.read_bytes()
    chain_before = chain_fingerprint(operator)

    keyed = operator.rpc_url + "/?apikey=secret-api-key"  # node URLs carry keys: none may leak
    result = operator.run(
        "perform-test-trade",
        "--simulate",
        "--test-trade-pair",
        "DEV-USDC",
        "--simulate-reserve",
        "2500",
        JSON_RPC_ANVIL=keyed,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"SIMULATION on an anvil fork of {operator.rpc_url} (anvil) at block {chain_before[0]}" in out
    assert "SIMULATION: hot wallet holds 2500 USDC on the fork (--simulate-reserve)." in out
    assert "All ok" in out and f"Simulated: the real chain and {operator.state_path} were not touched." in out

    assert chain_fingerprint(operator) == chain_before
    assert operator.state_path.read_bytes() == real_before
    simulated = load_state(operator.dir / "state.simulated.json")
    assert f"State: {operator.dir / 'state.simulated.json'} (a copy of {operator.state_path})" in out
    tests = [t for t in simulated.portfolio.all_trades() if t.trade_type == TradeType.test]
    assert len(tests) == 2 and all(t.is_success for t in tests)
    assert list(simulated.portfolio.open_positions) == [1]  # copied from the real state
    # the fork's wallet got 2500 USDC instead of the real 9900: booked as a withdrawal in the simulated books
    assert any(e.kind == LedgerKind.withdrawal for e in simulated.ledger.entries)
    assert simulated.portfolio.cash() < Decimal(2500)
    assert operator.private_key_hex() not in out + result.stderr
    assert "secret-api-key" not in out + result.stderr


def test_simulated_close_all_sells_on_the_fork_only(operator) -> None:
    pid = operator.open("WETH-USDC", Decimal(100))
    real_before = operator.state_path.read_bytes()
    chain_before = chain_fingerprint(operator)
    (operator.dir / "state.simulated.json").write_text("left over from an earlier rehearsal")

    result = operator.run("close-all", "--simulate", "--yes")
    assert result.returncode == 0, result.stderr
    assert "SIMULATION on an anvil fork" in result.stdout and "Sold " in result.stdout
    simulated = load_state(operator.dir / "state.simulated.json")
    assert list(simulated.portfolio.closed_positions) == [pid] and not simulated.portfolio.open_positions
    assert chain_fingerprint(operator) == chain_before
    assert operator.state_path.read_bytes() == real_before
    assert list(operator.load().portfolio.open_positions) == [pid]


def test_simulate_reserve_needs_simulate(operator) -> None:
    one_sentence_error(
        operator.run("perform-test-trade", "--simulate-reserve", "10"), "only works with --simulate"
    )


def test_start_fork_points_the_env_at_the_fork_and_restores_it(operator) -> None:
    from web3 import HTTPProvider, Web3

    from tradeexecutor.execution.live.simulate import start_fork

    env = {"JSON_RPC_ANVIL": operator.rpc_url + " http://127.0.0.1:9/"}
    wallet = operator.live.eth.wallet.address
    usdc = operator.live.eth.assets["USDC"]
    with start_fork(env["JSON_RPC_ANVIL"], 31337, wallet, env=env, gas_funding=Decimal(500)) as fork:
        assert env["JSON_RPC_ANVIL"] == fork.url != operator.rpc_url
        assert operator.rpc_url not in " ".join(fork.anvil.command())  # anvil only knows the loopback relay
        web3 = Web3(HTTPProvider(fork.url))
        assert web3.eth.chain_id == 31337 and web3.eth.get_balance(wallet) == 500 * 10**18
        fork.set_token_balance(usdc.address, 123 * 10**6)
        assert balance_of(web3, usdc, wallet) == 123 * 10**6
        assert balance_of(operator.live.eth.web3, usdc, wallet) == 10_000 * 10**6
        anvil = fork.anvil
    assert env == {"JSON_RPC_ANVIL": operator.rpc_url + " http://127.0.0.1:9/"}
    assert not anvil.is_running()
    assert "JSON_RPC_ANVIL" not in os.environ or os.environ["JSON_RPC_ANVIL"] != fork.url


@pytest.mark.parametrize("command", ["perform-test-trade", "close-all"])
def test_simulation_needs_a_node_to_fork(operator, command) -> None:
    result = operator.run(
        command,
        "--simulate",
        "--yes" if command == "close-all" else "--test-trade-pair=WETH-USDC",
        JSON_RPC_ANVIL="",
    )
    one_sentence_error(result, "JSON_RPC_ANVIL is not set: --simulate forks the node")


def test_simulation_refuses_a_node_of_another_chain(operator) -> None:
    from tradeexecutor.devchain.anvil import AnvilProcess

    with AnvilProcess(chain_id=5) as other:
        result = operator.run(
            "perform-test-trade", "--simulate", "--test-trade-pair=WETH-USDC", JSON_RPC_ANVIL=other.url
        )
    one_sentence_error(result, "is on chain 5", "but the strategy's CHAIN_ID is 31337")
    assert not (operator.dir / "state.simulated.json").exists()
