"""Several JSON-RPC calls in one HTTP round trip, falling back to one by one.

Reading reserves for every pair or timestamps for every block one call at a time costs a
round trip each; a JSON-RPC batch costs one. Some public nodes refuse batches (they answer
with one error object) or cap their size, so batches are chunked and fall back gracefully.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint

MAX_BATCH = 50


class BatchCallError(Exception):
    """One call of a batch came back with a JSON-RPC error."""

    def __init__(self, method: str, error: Any) -> None:
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        super().__init__(f"{method} failed: {message}")
        self.method = method
        self.error = error


def batch_rpc(web3: Web3, calls: Sequence[tuple[str, list[Any]]], raise_errors: bool = True) -> list[Any]:
    """The `result` of each (method, params) call, in order.

    A call that failed raises BatchCallError, or with `raise_errors=False` leaves its
    BatchCallError in the list for the caller to judge.
    """
    results: list[Any] = []
    provider = web3.provider
    for start in range(0, len(calls), MAX_BATCH):
        chunk = [(RPCEndpoint(m), p) for m, p in calls[start : start + MAX_BATCH]]
        responses: Any = None
        if len(chunk) > 1 and hasattr(provider, "make_batch_request"):
            responses = provider.make_batch_request(chunk)  # type: ignore[attr-defined]
            if not isinstance(responses, list) or len(responses) != len(chunk):
                responses = None  # batches refused: ask one by one
        if responses is None:
            responses = [provider.make_request(m, p) for m, p in chunk]
        for (method, _), response in zip(chunk, responses, strict=True):
            if "error" in response:
                error = BatchCallError(method, response["error"])
                if raise_errors:
                    raise error
                results.append(error)
            else:
                results.append(response.get("result"))
    return results
