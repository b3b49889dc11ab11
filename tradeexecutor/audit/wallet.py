"""Which hot wallet a state file trades from, so `trade-executor audit` needs no private key.

An audit only reads the chain, so it should not need the key. The state already names
the wallet in three places, tried in this order: the audit cursor (set by the first
passing audit), the sender of every transaction it recorded, and the reason of the first
wallet sync's deposit ("first sync of hot wallet 0x..."). `--wallet-address` overrides
them but must agree; `PRIVATE_KEY` is only the last resort, for a state that has never
synced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State

_FIRST_SYNC = re.compile(r"first sync of hot wallet (0x[0-9a-fA-F]{40})")


def _checksum(address: str, source: str) -> str:
    try:
        return Web3.to_checksum_address(address.strip())
    except ValueError:
        raise UserError(
            f"{source} {address!r} is not an address (0x followed by 40 hex digits): fix it."
        ) from None


def wallet_from_state(state: State) -> str | None:
    """The hot wallet the state trades from, or None when it does not say."""
    found: dict[str, str] = {}
    if state.audit_cursor.wallet_address:
        found[state.audit_cursor.wallet_address.lower()] = state.audit_cursor.wallet_address
    for trade in state.portfolio.all_trades():
        for tx in trade.blockchain_transactions:
            found.setdefault(tx.from_address.lower(), tx.from_address)
    if not found:
        for entry in state.ledger.entries:
            match = _FIRST_SYNC.search(entry.reason) if entry.kind == LedgerKind.deposit else None
            if match:
                found.setdefault(match.group(1).lower(), match.group(1))
    if len(found) > 1:
        raise UserError(
            f"The state's transactions come from several wallets ({', '.join(sorted(found.values()))}): pass "
            "--wallet-address to choose the one to audit."
        )
    return Web3.to_checksum_address(next(iter(found.values()))) if found else None


def resolve_wallet(state: State, given: str | None, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(checksummed address, where it came from)."""
    from_state = wallet_from_state(state)
    if given:
        address = _checksum(given, "--wallet-address")
        if from_state is not None and from_state.lower() != address.lower():
            raise UserError(
                f"--wallet-address {address} is not the hot wallet of this state (it trades from {from_state}): "
                "fix --wallet-address or --state-file."
            )
        return address, "--wallet-address"
    if from_state is not None:
        return from_state, "the state file"
    env = os.environ if env is None else env
    if env.get("PRIVATE_KEY", "").strip():
        from tradeexecutor.ethereum.wallet import HotWallet

        return HotWallet.from_env(env).address, "PRIVATE_KEY"
    raise UserError(
        "The state file does not say which wallet it trades from yet (it never synced): pass --wallet-address 0x..."
    )
