"""`trade-executor audit`: prove once, now, that a state file matches the chain.

Runs the balance, ledger and order audits (docs/audit.md) over the whole history of the
state file and prints a table per asset (state balance, chain balance, difference,
tolerance, verdict), then what the ledger and order audits checked (`--json`: the whole
report as one JSON object). Exit 0 only when every selected audit ran and passed.

No private key is needed: the wallet comes from the state (or --wallet-address). When no
executor holds the state file, drift within tolerance is booked and the findings and audit
cursor are saved; when one does, the file is opened read-only and nothing is written.
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import (
    AuditTolerance,
    AuditTypes,
    ExchangeSlug,
    Id,
    JsonOutput,
    OptionalDeploymentFile,
    StateFile,
    StrategyFile,
    TokenAddresses,
    WalletAddress,
)
from tradeexecutor.cli.output import echo_json
from tradeexecutor.errors import UserError


def audit(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    wallet_address: WalletAddress = None,
    audit_types: AuditTypes = "balance,ledger,order",
    audit_tolerance: AuditTolerance = None,
    json_output: JsonOutput = False,
) -> None:
    """Audit the state file against the chain: balances, ledger and the wallet's transactions."""
    from tradeexecutor.audit.model import parse_audit_types
    from tradeexecutor.audit.tolerance import Tolerances
    from tradeexecutor.execution.live.state_access import state_path

    say = (lambda text: typer.echo(text, err=True)) if json_output else typer.echo  # stdout: the result only
    # the options are checked before web3 is even imported: a typo fails in a fraction of a second
    types = parse_audit_types(audit_types)
    tolerances = Tolerances.parse(audit_tolerance)
    path = state_path(state_file, strategy_file, id)
    if not path.exists():
        raise UserError(f"The state file {path} does not exist; check --state-file.")

    from tradeexecutor.audit.runner import (
        AuditEngine,
        AuditSettings,
        audit_pairs_from_settings,
        consistent_block,
    )
    from tradeexecutor.audit.table import report_document, report_lines
    from tradeexecutor.audit.wallet import resolve_wallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.routes import LiveRouting
    from tradeexecutor.state.errors import StateFileLocked
    from tradeexecutor.state.store import JSONFileStore

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
    )
    try:
        store = JSONFileStore(path)
    except StateFileLocked as e:
        say(f"{e} Auditing it read-only: drift is reported, not booked, and nothing is saved.")
        store = JSONFileStore(path, read_only=True)
    with store:
        block_before_load = setup.web3.eth.block_number  # read first: see consistent_block()
        state = store.load()
        wallet, source = resolve_wallet(state, wallet_address)
        say(f"Auditing {path} (wallet {wallet} from {source}; tolerances: {tolerances.describe()})")
        routing = LiveRouting(setup.web3, setup.deployments, setup.reserve, known_pairs=setup.pairs)
        settings = AuditSettings(
            types=types,
            tolerances=tolerances,
            audit_pairs=audit_pairs_from_settings(setup.module.extra, setup.pairs),
        )
        engine = AuditEngine(setup.web3, wallet, routing, settings)
        report = engine.run(
            state, book=not store.read_only, full=True, block=consistent_block(state, block_before_load)
        )
        if not store.read_only:
            store.save(state)
    if json_output:
        echo_json({"state_file": str(path), **report_document(report)})
    else:
        for line in report_lines(report):
            typer.echo(line)
    if not report.ok:
        raise UserError(
            f"The audit failed with {len(report.problems)} problem(s), listed {'in the JSON' if json_output else 'above'}: "
            "trading on this state must stop until they are explained."
        )
    if not report.complete:
        skipped = "; ".join(f"{s.audit_type}: {s.skipped}" for s in report.sections if s.skipped)
        raise UserError(f"Not every audit could run ({skipped}); run the audit again once that is resolved.")
    if not json_output:
        typer.echo("All ok")
