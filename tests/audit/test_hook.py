"""AuditHook: every few cycles, after the cycle's save; a failure is published, alerted, and halts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from standins import RecordingHttpServer, wait_until

from tests.audit.helpers import mint, run_cycle, swap_outside_executor
from tests.live.state_file import load_state
from tradeexecutor.audit.hook import AuditHook, create_audit_hook
from tradeexecutor.audit.model import AuditFailed
from tradeexecutor.execution.failures import is_transient
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.webhook.documents import status_document


@pytest.fixture()
def discord() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.close()


def test_hook_audits_every_tick_and_halts_with_an_alert_on_a_foreign_swap(live, discord) -> None:
    run_state = RunState(StrategyMetadata("audited", "Audited"), version="test")
    reporter = Reporter.create(
        ReportingConfig(
            discord_webhook_url=discord.url + "/main", discord_error_webhook_url=discord.url + "/errors"
        ),
        run_state,
        MetricsRegistry(),
    )
    options = dict(
        tick=2,
        types="balance,ledger,order",
        tolerance="USDC=0.00001",
        web3=live.eth.web3,
        wallet_address=live.eth.wallet.address,
        routing=live.models.routing,
        strategy_settings={"AUDIT_PAIRS": ["DEV-USDC"]},
        pairs=list(live.eth.pairs.values()),
        checkpoint=live.checkpoint,
        sync=live.models.sync,
        run_state=run_state,
        reporter=reporter,
    )
    assert create_audit_hook(enabled=False, **options) is None
    hook = create_audit_hook(enabled=True, **options)
    assert isinstance(hook, AuditHook)
    assert [p.ticker for p in hook.engine.settings.audit_pairs] == ["DEV-USDC"]
    weth_usdc = live.eth.pairs["WETH-USDC"]
    state = live.state
    assert status_document(run_state.snapshot)["audit"] is None

    run_cycle(live, lambda ts, pm: pm.open_1x_long(weth_usdc, 100))
    first = hook.run_if_due(1, state)  # the first cycle of a process is always audited
    assert first is not None and first.ok and first.cycle == 1
    shown = status_document(run_state.snapshot)["audit"]
    assert shown["ok"] and shown["cycle"] == 1 and shown["audits"]["order"]["status"] == "passed"
    assert load_state(live.path).audit_cursor.last_block == first.block  # saved by the hook

    run_cycle(live, lambda ts, pm: [], hour=1)
    assert hook.run_if_due(2, state) is None  # tick 2: not due yet

    mint(live.eth.devchain, "USDC", live.eth.wallet.address, 40 * 10**6)  # a deposit between cycles
    run_cycle(live, lambda ts, pm: [], hour=2)
    assert hook.run_if_due(3, state).ok
    assert [e.kind for e in state.ledger.entries if e.amount_raw == 40 * 10**6] == [LedgerKind.deposit]

    rogue = swap_outside_executor(
        live.eth.devchain, 10 * 10**6
    )  # right after an audit: the hook's own sync sees it
    run_cycle(live, lambda ts, pm: [], hour=3)
    assert hook.run_if_due(4, state) is None
    run_cycle(live, lambda ts, pm: [], hour=4)
    with pytest.raises(AuditFailed) as failed:
        hook.run_if_due(5, state)
    assert not is_transient(failed.value)  # the loop halts on it instead of retrying
    assert "FAILED" in str(failed.value)

    shown = status_document(run_state.snapshot)["audit"]
    assert not shown["ok"] and shown["cycle"] == 5
    assert any(p["tx_hash"] == rogue for p in shown["audits"]["order"]["problems"])
    on_disk = load_state(live.path)
    assert any(f.tx_hash == rogue and f.audit_type == "order" and not f.ok for f in on_disk.audit_findings)
    assert on_disk.audit_cursor.passed_count == 2  # the failed audit did not move the cursor
    assert wait_until(lambda: any(rogue in c for c in discord.contents()))
    alert = next(r for r in discord.requests if rogue in r.json().get("content", ""))
    assert alert.path == "/errors" and "Audit failed in cycle 5" in alert.json()["content"]
    reporter.close()
