"""`trade-executor audit`, run as the installed command against the devchain: tables, exit codes, read-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from tests.audit.helpers import mint, run_cycle, swap_outside_executor
from tests.live.state_file import load_state, save_state
from tradeexecutor.state.ledger import LedgerKind

EXECUTABLE = Path(sys.executable).with_name("trade-executor")

STRATEGY = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
CANDLE_TIME_BUCKET = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC"]
AUDIT_PAIRS = {audit_pairs!r}

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""


@pytest.fixture()
def cli(devchain, tmp_path):
    deployment = tmp_path / "deployment.json"
    devchain.deployment.write(deployment)

    def strategy(audit_pairs=("DEV-USDC",)) -> None:
        (tmp_path / "strategy.py").write_text(STRATEGY.format(audit_pairs=list(audit_pairs)))

    def run(*args: str, key: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith("JSON_RPC_") and k != "PRIVATE_KEY"}
        base.update(
            JSON_RPC_ANVIL=devchain.rpc_url,
            STRATEGY_FILE=str(tmp_path / "strategy.py"),
            DEPLOYMENT_FILE=str(deployment),
            STATE_FILE=str(tmp_path / "state.json"),
        )
        if key:  # only perform-test-trade signs; the audit needs no key
            base["PRIVATE_KEY"] = devchain.hot_wallet.key.to_0x_hex()
        base.update(env or {})
        return subprocess.run(
            [str(EXECUTABLE), *args], capture_output=True, text=True, env=base, timeout=120, cwd=tmp_path
        )

    strategy()
    ns = type("Cli", (), {})()
    ns.run, ns.strategy, ns.dir, ns.state = run, strategy, tmp_path, tmp_path / "state.json"
    return ns


def traded(live) -> None:
    """A buy and a sell of WETH-USDC by the real execution model, saved where the CLI looks (faster than
    perform-test-trade in a subprocess, which the first test covers)."""
    weth_usdc = live.eth.pairs["WETH-USDC"]
    run_cycle(live, lambda ts, pm: pm.open_1x_long(weth_usdc, 1))
    position = live.state.portfolio.open_position_for_pair(weth_usdc)
    run_cycle(live, lambda ts, pm: pm.close_position(position), hour=1)


def table(stdout: str) -> dict[str, list[str]]:
    """The balance table's rows by asset symbol, split into columns."""
    lines = stdout.splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if line.split()[:6] == ["asset", "state", "chain", "difference", "tolerance", "verdict"]
    )
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("  ") or line.startswith("  FAIL"):
            break
        cells = line.split(None, 5)
        rows[cells[0]] = cells
    return rows


def test_audit_after_a_test_trade_passes_without_a_private_key(cli, devchain) -> None:
    assert cli.run("perform-test-trade", key=True).returncode == 0
    result = cli.run("audit")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"wallet {devchain.hot_wallet.address} from the state file" in out
    rows = table(out)
    assert set(rows) == {"USDC", "ETH", "WETH", "DEV"}  # reserve, gas, the traded pair, AUDIT_PAIRS' DEV
    assert rows["WETH"][1:5] == ["0", "0", "0", "0.000000000001"]
    assert rows["USDC"][5] == "match" and rows["USDC"][1] == rows["USDC"][2]
    assert rows["ETH"][5] == "match"
    assert "Ledger audit: passed" in out and "2 trade(s): executed amounts and gas = their receipts" in out
    assert "Order audit: passed" in out and "nonces 0-3: every one recorded" in out
    assert out.rstrip().endswith("All ok")
    state = load_state(cli.state)
    assert state.audit_cursor.passed_count == 1 and [f.ok for f in state.audit_findings] == [True] * 3


def test_dust_is_booked_and_a_locked_state_is_audited_read_only(cli, devchain, live) -> None:
    from tradeexecutor.state.store import JSONFileStore

    traded(live)
    mint(devchain, "USDC", devchain.hot_wallet.address, 3)  # 0.000003 USDC: within the 10-unit default

    with JSONFileStore(cli.state):  # an executor holds the file
        before = cli.state.read_bytes()
        locked = cli.run("audit")
        assert locked.returncode == 0, locked.stdout + locked.stderr
        assert "is in use by another trade-executor" in locked.stdout and "read-only" in locked.stdout
        assert table(locked.stdout)["USDC"][3:] == [
            "+0.000003",
            "0.00001",
            "drift (read-only: not booked): +0.000003 USDC",
        ]
        assert cli.state.read_bytes() == before

    booked = cli.run("audit")
    assert booked.returncode == 0, booked.stdout + booked.stderr
    assert table(booked.stdout)["USDC"][5].startswith("drift booked")
    (drift,) = [e for e in load_state(cli.state).ledger.entries if e.kind == LedgerKind.drift]
    assert drift.amount_raw == 3 and "tolerance" in drift.reason
    assert table(cli.run("audit").stdout)["USDC"][5] == "match"

    mint(
        devchain, "USDC", devchain.hot_wallet.address, 5 * 10**6
    )  # a real deposit: the executor's sync books it
    deposit = cli.run("audit")
    assert deposit.returncode == 0 and table(deposit.stdout)["USDC"][5].startswith(
        "deposit (next sync books it)"
    )


def test_a_swap_outside_the_executor_fails_with_exit_1_naming_it(cli, devchain, live) -> None:
    traded(live)
    rogue = swap_outside_executor(devchain, 3 * 10**6)
    result = cli.run("audit")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "The audit failed with" in result.stderr and "problem(s), listed above" in result.stderr
    assert "Order audit: FAILED" in result.stdout and f"used by transaction {rogue}" in result.stdout
    assert table(result.stdout)["WETH"][5] == "FAIL"
    assert any(f.tx_hash == rogue for f in load_state(cli.state).audit_findings)

    only_ledger = cli.run("audit", "--audit-types", "ledger")  # the ledger itself is fine
    assert only_ledger.returncode == 0 and "Order audit" not in only_ledger.stdout


def test_audit_json_has_every_row_check_and_problem(cli, devchain, live) -> None:
    traded(live)
    mint(devchain, "USDC", devchain.hot_wallet.address, 3)  # drift within tolerance: booked
    passed = cli.run("audit", "--json")
    assert passed.returncode == 0, passed.stderr
    document = json.loads(passed.stdout, parse_float=Decimal)  # stdout holds the result only
    assert f"Auditing {cli.state}" in passed.stderr
    assert document["ok"] is True and document["complete"] is True and document["drift_booked"] is True
    assert document["wallet_address"] == devchain.hot_wallet.address and document["state_file"] == str(
        cli.state
    )
    usdc = next(row for row in document["balances"] if row["asset"] == "USDC")
    assert usdc["verdict"] == "drift" and usdc["difference"] == Decimal("0.000003")
    assert usdc["chain"] - usdc["state"] == usdc["difference"] and usdc["tolerance"] == Decimal("0.00001")
    assert document["drift"] == [
        {"asset": "USDC", "amount": Decimal("0.000003"), "reason": document["drift"][0]["reason"]}
    ]
    assert set(document["audits"]) == {"balance", "ledger", "order"}
    assert all(a["status"] == "passed" and a["problems"] == [] for a in document["audits"].values())
    assert any("trade(s)" in line for line in document["audits"]["ledger"]["checked"])

    rogue = swap_outside_executor(devchain, 3 * 10**6)
    failed = cli.run("audit", "--json")
    assert failed.returncode == 1 and "listed in the JSON" in failed.stderr
    document = json.loads(failed.stdout)
    assert document["ok"] is False
    assert any(p["tx_hash"] == rogue for p in document["audits"]["order"]["problems"])


def test_a_tampered_state_file_fails_the_ledger_audit_naming_the_asset(cli, live) -> None:
    """Trade, ledger entry and holding edited together, so the store's integrity check still loads it."""
    traded(live)
    state = load_state(cli.state)
    trade = max(state.portfolio.all_trades(), key=lambda t: t.trade_id)  # the sell
    trade.executed_reserve_raw += 1000
    index, entry = next(
        (i, e)
        for i, e in enumerate(state.ledger.entries)
        if e.trade_id == trade.trade_id
        and e.kind == LedgerKind.trade
        and e.asset_key == trade.reserve_currency.key
    )
    state.ledger.entries[index] = msgspec.structs.replace(entry, amount_raw=entry.amount_raw + 1000)
    state.portfolio.reserve_holding().quantity_raw += 1000
    save_state(cli.state, state)

    result = cli.run("audit", "--audit-types", "ledger")
    assert result.returncode == 1, result.stdout
    assert "Ledger audit: FAILED" in result.stdout
    assert (
        f"trade #{trade.trade_id} (sell WETH-USDC, swap {trade.blockchain_transactions[-1].tx_hash}): the Swap events say"
        in result.stdout
    )
    assert "USDC came out but the state books" in result.stdout


def test_bad_input_is_one_sentence(cli, live) -> None:
    traded(live)
    for args, needle in (
        (("--audit-types", "balance,orders"), "Unknown audit type orders in --audit-types"),
        (("--audit-tolerance", "USDC=lots"), "--audit-tolerance for USDC must be a token amount"),
        (("--wallet-address", "0x" + "11" * 20), "is not the hot wallet of this state"),
        (("--state-file", "nowhere.json"), "The state file nowhere.json does not exist"),
    ):
        result = cli.run("audit", *args)
        assert result.returncode == 1 and needle in result.stderr and "Traceback" not in result.stderr, args
    cli.strategy(audit_pairs=("FOO-USDC",))
    result = cli.run("audit")
    assert result.returncode == 1 and "AUDIT_PAIRS lists FOO-USDC, which is not a known pair" in result.stderr
