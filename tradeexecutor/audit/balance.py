"""Balance audit: the hot wallet's balances on chain against what the state holds.

Compared, all at one block: every reserve holding (the reserve currency and the native gas
token), the token of every open or frozen position, and the base token of every audited
pair (traded since the last audit, or listed in AUDIT_PAIRS; expected zero when no position
holds it). The state side is `Portfolio.held_balances_raw()`.

How a difference is judged:

- none: match;
- within the token's tolerance: drift, booked with `State.record_drift` on the reserve
  holding or the position that holds the token (only once every audit of the run passed,
  and never on a read-only state); with nothing to book it on, reported as dust;
- on the reserve or gas token when no sync ran just before (the `audit` command): a
  deposit or withdrawal that `WalletSync` books at the executor's next cycle;
- anything else: the audit fails, naming the token.

Unfinished trades make balances unknowable (their transactions may or may not have
moved tokens yet), so the audit is skipped until they are resolved.
"""

from __future__ import annotations

from tradeexecutor.audit.chain import read_balances
from tradeexecutor.audit.context import AuditContext
from tradeexecutor.audit.model import AuditSection, AuditType, BalanceRow, PlannedDrift, Verdict
from tradeexecutor.ethereum.gas import human
from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State


def audited_assets(state: State, ctx: AuditContext) -> list[AssetIdentifier]:
    assets: dict[str, AssetIdentifier] = {}
    for holding in state.portfolio.reserves.values():
        assets.setdefault(holding.asset.key, holding.asset)
    portfolio = state.portfolio
    for position in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values()):
        assets.setdefault(position.pair.base.key, position.pair.base)
    for pair in ctx.pairs(state):
        assets.setdefault(pair.base.key, pair.base)
    return list(assets.values())


def _drift_target(
    state: State, asset: AssetIdentifier, amount_raw: int
) -> tuple[bool, TradingPosition | None]:
    """(bookable, position): a reserve holding books with position None."""
    holding = state.portfolio.reserves.get(asset.key)
    if holding is not None:
        return holding.quantity_raw + amount_raw >= 0, None
    portfolio = state.portfolio
    for position in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values()):
        if position.pair.base.key == asset.key and position.quantity_raw + amount_raw >= 0:
            return True, position
    return False, None


def audit_balances(
    state: State, ctx: AuditContext
) -> tuple[AuditSection, list[BalanceRow], list[PlannedDrift]]:
    section = AuditSection(AuditType.balance)
    pending = state.portfolio.pending_trades()
    if pending:
        section.skipped = (
            f"{len(pending)} trade(s) are unfinished (first: {min(pending, key=lambda t: t.trade_id)}), so their "
            "effect on balances is not known yet; the next sync resolves them, or run `trade-executor repair`"
        )
        return section, [], []

    assets = audited_assets(state, ctx)
    on_chain = read_balances(ctx.web3, ctx.wallet_address, assets, ctx.block)
    held = state.portfolio.held_balances_raw()
    portfolio = state.portfolio
    synced_by_wallet_sync: set[str] = set()
    if not ctx.after_sync:
        synced_by_wallet_sync = {
            key
            for key, h in portfolio.reserves.items()
            if key == portfolio.reserve_key or h.role == ReserveRole.gas
        }

    rows: list[BalanceRow] = []
    drift: list[PlannedDrift] = []
    for asset in assets:
        state_raw, chain_raw = held.get(asset.key, 0), on_chain[asset.key]
        difference = chain_raw - state_raw
        tolerance = ctx.tolerances.raw(asset)
        amount = f"{human(asset.to_decimal(abs(difference)))} {asset.symbol}"
        note = ""
        if difference == 0:
            verdict = Verdict.match
        elif abs(difference) <= tolerance:
            bookable, position = _drift_target(state, asset, difference)
            if bookable:
                verdict = Verdict.drift
                where = f" on {position}" if position is not None else ""
                reason = (
                    f"audit at block {ctx.block}: the wallet holds {amount} {'more' if difference > 0 else 'less'} "
                    f"than booked, within the {human(asset.to_decimal(tolerance))} {asset.symbol} tolerance"
                )
                drift.append(PlannedDrift(asset, difference, reason, position))
                note = f"{'+' if difference > 0 else '-'}{amount}{where}"
            else:
                verdict = Verdict.dust
                note = "no reserve holding or open position holds this token"
        elif asset.key in synced_by_wallet_sync:
            verdict = Verdict.unsynced_deposit if difference > 0 else Verdict.unsynced_withdrawal
            note = f"{amount} {'arrived' if difference > 0 else 'left'} since the last sync"
        else:
            verdict = Verdict.fail
            section.fail(
                f"{asset.symbol} ({asset.address}): the wallet holds {human(asset.to_decimal(chain_raw))} on chain "
                f"at block {ctx.block} but the state books {human(asset.to_decimal(state_raw))}, a difference of "
                f"{'+' if difference > 0 else '-'}{amount}, more than the tolerance of "
                f"{human(asset.to_decimal(tolerance))}",
                asset_key=asset.key,
            )
        rows.append(BalanceRow(asset, state_raw, chain_raw, tolerance, verdict, note))
        if verdict.passes:
            section.checked.append(f"{asset.symbol}: {verdict.value}")
            if verdict is not Verdict.match:
                section.notes.append(f"{asset.symbol}: {verdict.value}: {note}")
    return section, rows, drift
