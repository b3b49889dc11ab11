"""`trade-executor console` driven with commands on stdin: state, live objects, lock, read-only, node down."""

from __future__ import annotations

import socket
from decimal import Decimal

from tests.live.toolbox import hold_lock, one_sentence_error, release

COMMANDS = """\
print("open", sorted(state.portfolio.open_positions))
print("chain", web3.eth.chain_id)
print("wallet", wallet.address)
pair = state.portfolio.open_positions[1].pair
print("mid above 1000", pricing_model.get_mid_price(datetime.datetime.now(datetime.UTC), pair) > 1000)
print("pd", pd.__name__, "decimal", Decimal("0.1") + Decimal("0.2"))
state.portfolio.open_positions[1].notes = "looked at by the operator"
save()
"""


def test_console_runs_piped_commands_with_everything_loaded_and_saves(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))
    result = operator.run("console", input=COMMANDS)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "writable: the state file is locked until you leave" in out
    assert "Following classes and objects are available:" in out
    for name in ("web3", "state", "store", "universe", "wallet", "routing", "pricing_model", "valuation"):
        assert any(line.startswith(f"{name} ") and " : " in line for line in out.splitlines()), name
    assert f"web3                          : <Web3 over JSON-RPC {operator.rpc_url}>" in out
    assert "state                         : <State " in out and "1 open, 0 frozen, 0 closed positions" in out
    assert "WARNING" not in out
    wallet = operator.live.eth.wallet.address
    for expected in (
        "open [1]",
        "chain 31337",
        f"wallet {wallet}",
        "mid above 1000 True",
        "pd pandas decimal 0.3",
    ):
        assert expected in out, out
    assert f"Saved {operator.state_path}." in out
    assert operator.load().portfolio.open_positions[1].notes == "looked at by the operator"
    assert operator.private_key_hex() not in out + result.stderr


def test_a_running_executor_blocks_a_writable_console_but_not_a_read_only_one(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))
    before = operator.state_path.read_bytes()
    holder = hold_lock(operator.state_path)
    try:
        blocked = operator.run("console", input="print('should not run')\n")
        one_sentence_error(blocked, f"is in use by another trade-executor (PID {holder.pid})")
        assert "should not run" not in blocked.stdout

        commands = (
            "print('positions', len(state.portfolio.open_positions))\nsave()\n"
            "print('signer', wallet, execution_model, 'pricing', pricing_model is not None)\n"
        )
        read_only = operator.run("console", "--read-only", input=commands)
        assert read_only.returncode == 0, read_only.stderr
        assert "read-only: no lock taken, nothing can be saved" in read_only.stdout
        assert "positions 1" in read_only.stdout
        assert "Not saved: The state file" in read_only.stdout and "was opened read-only" in read_only.stdout
        assert "\nsave " not in read_only.stdout  # not offered in the banner
        # nothing that can sign behind the running executor's back, prices still there
        assert "signer None None pricing True" in read_only.stdout
    finally:
        release(holder)
    assert operator.state_path.read_bytes() == before


def test_console_opens_with_the_state_when_the_node_is_down(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/secret-api-key"
    commands = "print('positions', sorted(state.portfolio.open_positions), web3, wallet)\n"
    result = operator.run("console", "--read-only", input=commands, JSON_RPC_ANVIL=dead)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "WARNING: Not connected to the chain: No JSON-RPC node answered" in out
    assert "web3                          : None" in out and "pricing_model                 : None" in out
    assert "state                         : <State " in out
    assert "positions [1] None None" in out
    assert "secret-api-key" not in out + result.stderr


def test_a_failing_console_command_fails_the_piped_session(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))
    result = operator.run("console", "--read-only", input="print('before')\n1 / 0\nprint('after')\n")
    assert result.returncode == 1
    assert "before" in result.stdout and "after" in result.stdout
    assert "ZeroDivisionError: division by zero" in result.stderr and "code.py" not in result.stderr
    assert result.stderr.rstrip().endswith("Error: 1 console command(s) raised an error (shown above).")
