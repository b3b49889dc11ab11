"""Links to a chain explorer: one base URL per chain id; none for local chains such as anvil."""

from __future__ import annotations

from collections.abc import Mapping

EXPLORERS: Mapping[int, str] = {
    1: "https://etherscan.io",
    10: "https://optimistic.etherscan.io",
    56: "https://bscscan.com",
    137: "https://polygonscan.com",
    8453: "https://basescan.org",
    42161: "https://arbiscan.io",
    43114: "https://snowtrace.io",
}


def explorer_base(chain_id: int | None, override: str | None = None) -> str | None:
    """`override` (e.g. --explorer-url) wins; unknown and local chains (anvil 31337) have none."""
    if override:
        return override.rstrip("/")
    if chain_id is None:
        return None
    return EXPLORERS.get(chain_id)


def tx_url(chain_id: int | None, tx_hash: str | None, override: str | None = None) -> str | None:
    base = explorer_base(chain_id, override)
    if base is None or not tx_hash:
        return None
    return f"{base}/tx/{tx_hash}"


def address_url(chain_id: int | None, address: str | None, override: str | None = None) -> str | None:
    base = explorer_base(chain_id, override)
    if base is None or not address:
        return None
    return f"{base}/address/{address}"
