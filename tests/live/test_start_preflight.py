"""Bad input at `trade-executor start`, as a new user meets it: the installed command, real files,
a really full disk and the devchain. Each ends in one sentence, a non-zero exit and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.full_disk import can_mount_tmpfs, run_on_full_disk
from tests.live.toolbox import one_sentence_error
from tradeexecutor.ethereum.erc20 import balance_of

EXECUTABLE = Path(sys.executable).with_name("trade-executor")

BUYS_WITH_HALF_THE_CASH = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
CANDLE_TIME_BUCKET = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC"]

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    pm = input.position_manager
    if pm.is_any_open():
        return []
    return pm.open_1x_long(input.universe.pairs[0], input.state.portfolio.free_cash() / 2)
"""


def start_command(strategy: Path, *args: str, execution_type: str = "dummy") -> list[str]:
    return [
        str(EXECUTABLE),
        "start",
        "--execution-type",
        execution_type,
        "--strategy-file",
        str(strategy),
        "--run-single-cycle",
        "--http-disabled",
        *args,
    ]


@pytest.fixture()
def user(tmp_path):
    """A working directory with a strategy and the settings a new user would have, no chain yet."""
    strategy = tmp_path / "strategy.py"
    strategy.write_text(BUYS_WITH_HALF_THE_CASH)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSON_RPC_") and k != "PRIVATE_KEY"}
    env.update(HEARTBEAT="none", LOG_FILE_DIR=str(tmp_path / "logs"))

    def run(*args: str, execution_type: str = "dummy", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            start_command(strategy, *args, execution_type=execution_type),
            capture_output=True,
            text=True,
            env={**env, **extra},
            cwd=tmp_path,
            timeout=120,
        )

    return type("User", (), {"run": staticmethod(run), "dir": tmp_path, "strategy": strategy, "env": env})


@pytest.mark.parametrize("cash", ["-5", "0"])
def test_initial_cash_must_be_more_than_zero(user, cash) -> None:
    result = user.run("--initial-cash", cash, "--state-file", str(user.dir / "state.json"))
    one_sentence_error(result, f"--initial-cash must be more than 0, got {cash}")
    assert not (user.dir / "state.json").exists()


def test_state_file_in_a_missing_directory_is_refused_and_not_created(user) -> None:
    missing = user.dir / "typo" / "state"
    result = user.run("--state-file", str(missing / "x.json"))
    one_sentence_error(
        result, f"The directory {missing} of the state file {missing / 'x.json'} does not exist"
    )
    assert not (user.dir / "typo").exists()


def test_disk_full_at_start_is_one_sentence_and_leaves_nothing_behind(user) -> None:
    full = user.dir / "full"
    run = run_on_full_disk(
        start_command(user.strategy, "--state-file", str(full / "state.json")),
        full,
        env=user.env,
        cwd=user.dir,
    )
    if run.how == "tmpfs":  # a disk with no room: refused before anything is written
        one_sentence_error(run.result, f"The disk of {full} is full: 0 bytes free", "free some space")
    else:  # the disk has room but no file may grow: the lock file is the first write
        one_sentence_error(
            run.result,
            f"Cannot write the lock file {full / 'state.json.lock'} of the state file {full / 'state.json'} "
            "(File too large): raise this process's file size limit",
        )
    assert run.listing == []  # no empty lock file, no temporary file


LOCK_ON_A_FULL_DISK = """
import os
from tradeexecutor.state.errors import StateStoreError
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore
try:
    store = JSONFileStore({path!r})
except StateStoreError as e:
    print("refused:", e)
else:
    print("locked:", open({path!r} + ".lock").read().strip() == str(os.getpid()))
    try:
        store.create(State())
    except StateStoreError as e:
        print("save refused:", e)
"""


def test_a_new_lock_file_on_a_full_disk_is_one_sentence_and_not_left_empty(tmp_path) -> None:
    full = tmp_path / "full"
    code = LOCK_ON_A_FULL_DISK.format(path=str(full / "state.json"))
    run = run_on_full_disk([sys.executable, "-c", code], full)
    assert run.result.returncode == 0, run.result.stderr
    reason = "No space left on device" if run.how == "tmpfs" else "File too large"
    assert run.result.stdout.startswith(
        f"refused: Cannot write the lock file {full / 'state.json.lock'} of the state file "
        f"{full / 'state.json'} ({reason})"
    )
    assert run.listing == []


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs a mount namespace for a tmpfs")
def test_an_existing_lock_file_is_rewritten_in_place_on_a_full_disk(tmp_path) -> None:
    full = tmp_path / "full"
    code = LOCK_ON_A_FULL_DISK.format(path=str(full / "state.json"))
    run = run_on_full_disk([sys.executable, "-c", code], full, seed={"state.json.lock": b"4242424\n"})
    assert run.result.returncode == 0, run.result.stderr
    locked, refused = run.result.stdout.splitlines()
    assert locked == "locked: True"  # this process's PID, written over the old one without a new block
    assert "save refused: Cannot write the state file" in refused and "No space left on device" in refused
    assert sorted(run.listing) == ["state.json.lock"]  # no half-written state, no temp file


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs a mount namespace for a tmpfs")
def test_restart_on_a_full_disk_is_one_sentence(user) -> None:
    from tests.live.state_file import save_state
    from tradeexecutor.state.state import State

    seed = user.dir / "seed.json"
    save_state(seed, State(strategy_id="strategy"))
    full = user.dir / "full"
    run = run_on_full_disk(
        start_command(user.strategy, "--state-file", str(full / "state.json")),
        full,
        seed={"state.json": seed.read_bytes(), "state.json.lock": b"4242424\n"},
        env=user.env,
        cwd=full,  # logs/ and monit/ on the full disk too
    )
    one_sentence_error(
        run.result, f"The disk of {full} is full: 0 bytes free", "needed to save the state file"
    )
    assert sorted(run.listing) == ["state.json", "state.json.lock"]


# --- on the devchain ------------------------------------------------------------------------------


@pytest.fixture()
def chain_user(user, devchain):
    deployment = user.dir / "deployment.json"
    devchain.deployment.write(deployment)
    user.env.update(JSON_RPC_ANVIL=devchain.rpc_url, DEPLOYMENT_FILE=str(deployment))
    return user


def test_default_state_directory_is_created(chain_user) -> None:
    assert not (chain_user.dir / "state").exists()
    result = chain_user.run()
    assert "Traceback" not in result.stderr, result.stderr
    assert (chain_user.dir / "state" / "strategy.json").is_file()  # state/<id>.json, id = file name


def test_empty_wallet_at_start_fails_with_the_check_wallet_sentence(chain_user) -> None:
    from tradeexecutor.ethereum.wallet import HotWallet

    empty = HotWallet.create()
    state = chain_user.dir / "state.json"
    result = chain_user.run(
        "--state-file",
        str(state),
        execution_type="uniswap_v2_hot_wallet",
        PRIVATE_KEY=empty.export_private_key(),
    )
    one_sentence_error(
        result,
        "The hot wallet is not ready to trade",
        f"Hot wallet {empty.address} has 0 ETH for gas, below the minimum",
        f"Hot wallet {empty.address} holds no USDC (the reserve currency): deposit some.",
        "trade-executor check-wallet",
    )
    assert "decide_trades" not in result.stderr
    # check-wallet says the same about the reserve, from the same source
    check = subprocess.run(
        [str(EXECUTABLE), "check-wallet", "--strategy-file", str(chain_user.strategy)],
        capture_output=True,
        text=True,
        env={**chain_user.env, "PRIVATE_KEY": empty.export_private_key()},
        cwd=chain_user.dir,
        timeout=120,
    )
    assert (
        f"PROBLEM: Hot wallet {empty.address} holds no USDC (the reserve currency): deposit some."
        in check.stdout
    )


def test_all_cash_in_a_position_is_not_an_empty_wallet(operator) -> None:
    """A wallet whose reserve is all in positions starts: its stop losses must keep running."""
    from web3 import Web3

    operator.open("WETH-USDC", Decimal(100))
    web3, wallet = operator.live.eth.web3, operator.live.eth.wallet
    usdc = operator.live.eth.assets["USDC"]
    token = web3.eth.contract(
        address=Web3.to_checksum_address(usdc.address),
        abi=[
            {
                "name": "transfer",
                "type": "function",
                "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
                "outputs": [{"name": "", "type": "bool"}],
                "stateMutability": "nonpayable",
            }
        ],
    )
    web3.provider.make_request("anvil_impersonateAccount", [wallet.address])
    left = balance_of(web3, usdc, wallet.address)
    tx = token.functions.transfer(web3.eth.accounts[0], left).transact({"from": wallet.address})
    web3.eth.wait_for_transaction_receipt(tx)
    web3.provider.make_request("anvil_stopImpersonatingAccount", [wallet.address])
    assert balance_of(web3, usdc, wallet.address) == 0

    result = operator.run(
        "start",
        "--execution-type",
        "uniswap_v2_hot_wallet",
        "--run-single-cycle",
        "--http-disabled",
        HEARTBEAT="none",
        LOG_FILE_DIR=str(operator.dir / "logs"),
    )
    assert result.returncode == 0, result.stderr
    assert "not ready to trade" not in result.stderr
    assert operator.load().cycle.completed_count == 1
