"""Assets the executor holds outside positions: the reserve currency and the gas token."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.time import UTCDateTime


class ReserveRole(StrEnum):
    reserve = "reserve"  # what the strategy trades with (e.g. USDC)
    gas = "gas"  # the chain's native token, spent on transaction fees


class ReserveHolding(msgspec.Struct, kw_only=True, omit_defaults=True):
    asset: AssetIdentifier
    role: ReserveRole = ReserveRole.reserve
    quantity_raw: int = 0
    last_sync_at: UTCDateTime | None = None
    last_sync_block: int | None = None
