"""The hot wallet: a private key from the environment, signing, and a local nonce counter.

The key comes from `PRIVATE_KEY` in the environment (an `--env-file` fills it from a
secret .env file); it is never a command line option, since those end up in shell history
and process listings. Nothing here prints or echoes the key: `repr`/`str` show the address
only, and a malformed key is rejected by checking its shape ourselves, so no library error
message (which might quote the input) is ever raised or chained.

Nonces are counted locally so several transactions can be signed back to back without a
round trip each, and re-read from the chain (`pending` count) at start and after anything
went wrong, so a restart or a dropped transaction never leaves the counter drifting.
"""

from __future__ import annotations

import os
import string
import threading
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from web3 import Web3

from tradeexecutor.errors import UserError

PRIVATE_KEY_VAR = "PRIVATE_KEY"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX = frozenset(string.hexdigits)


def parse_private_key(private_key: str, source: str = PRIVATE_KEY_VAR) -> bytes:
    """32 key bytes from hex text (with or without 0x), or a UserError that does not echo it.

    Locals holding the key are named `private_key*` so error trackers that capture frame
    variables (Sentry's default scrubber matches that name) redact them.
    """
    private_key_hex = private_key.strip()
    if private_key_hex[:2] in ("0x", "0X"):
        private_key_hex = private_key_hex[2:]
    if len(private_key_hex) != 64 or not _HEX.issuperset(private_key_hex):
        raise UserError(
            f"{source} is not a valid 32-byte hex private key (64 hex digits, optionally after 0x): "
            "fix it in your secret .env file."
        )
    private_key_bytes = bytes.fromhex(private_key_hex)
    if not 0 < int.from_bytes(private_key_bytes, "big") < _SECP256K1_N:
        raise UserError(f"{source} is not a valid secp256k1 private key: fix it in your secret .env file.")
    return private_key_bytes


class HotWallet:
    """A local key that signs transactions, with nonces allocated in order."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        self._next_nonce: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HotWallet:
        env = os.environ if env is None else env
        private_key = env.get(PRIVATE_KEY_VAR, "")
        if not private_key.strip():
            raise UserError(
                f"{PRIVATE_KEY_VAR} is not set: put the hot wallet's private key in a secret .env file "
                "(create a new one with `trade-executor create-wallet`)."
            )
        return cls(Account.from_key(parse_private_key(private_key)))

    @classmethod
    def create(cls) -> HotWallet:
        return cls(Account.create())

    @property
    def address(self) -> str:
        return self._account.address

    def export_private_key(self) -> str:
        """The key as 0x-hex: only `create-wallet` calls this, to show a new key once."""
        return self._account.key.to_0x_hex()

    def __repr__(self) -> str:
        return f"<HotWallet {self.address}>"

    __str__ = __repr__

    # --- nonces -----------------------------------------------------------------------------

    def sync_nonce(self, web3: Web3) -> int:
        """Take the next nonce from the chain (pending count): at start and after any failure."""
        nonce = web3.eth.get_transaction_count(self.address, "pending")
        with self._lock:
            self._next_nonce = nonce
        return nonce

    def adopt_nonce(self, pending_count: int) -> None:
        """Take a `pending` transaction count read elsewhere (in a batch) as the next nonce."""
        with self._lock:
            self._next_nonce = pending_count

    def allocate_nonce(self, web3: Web3) -> int:
        with self._lock:
            need_sync = self._next_nonce is None
        if need_sync:
            self.sync_nonce(web3)
        with self._lock:
            assert self._next_nonce is not None
            nonce = self._next_nonce
            self._next_nonce += 1
            return nonce

    @property
    def next_nonce(self) -> int | None:
        return self._next_nonce

    def forget_nonce(self) -> None:
        """Make the next allocation re-read the chain (after a failed or unknown broadcast)."""
        with self._lock:
            self._next_nonce = None

    # --- signing ----------------------------------------------------------------------------

    def sign(self, tx: dict[str, Any]) -> SignedTransaction:
        return self._account.sign_transaction(tx)
