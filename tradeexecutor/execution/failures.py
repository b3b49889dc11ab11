"""Which cycle failures are worth retrying and which must stop trading.

A node that does not answer is the world's problem and usually passes: the cycle is
retried and the next one runs as normal. Anything else (a strategy bug, a state that
does not add up, a revert we did not expect) stops trading until a human looks, while
the process and its webhook stay up to say so.
"""

from __future__ import annotations

import socket

TRANSIENT_NAMES = frozenset(
    {
        "RPCUnavailable",  # every configured node failed (ethereum.connection)
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "Timeout",
        "TimeExhausted",  # web3 waiting for a receipt
    }
)


def is_transient(exc: BaseException) -> bool:
    """True for network-level failures the next attempt may not see."""
    if isinstance(exc, ConnectionError | TimeoutError | socket.timeout):
        return True
    return any(cls.__name__ in TRANSIENT_NAMES for cls in type(exc).__mro__)
