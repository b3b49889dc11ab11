"""JSON-RPC connections: several node URLs per chain, failover, retries, and the chain id check.

Node URLs usually carry an API key in their path or query, so nothing here ever prints a
full URL: logs and errors show scheme and host only (`redact_url`). Exceptions raised by
`requests` embed the full URL in their text, so they are summarised by class name and never
chained into our own errors.

Failover happens on transport failures only (connection refused, timeouts, HTTP 5xx/429,
a body that is not JSON-RPC). A JSON-RPC error object (a revert, "nonce too low") is the
node's answer and is returned unchanged, so web3 raises it exactly as with one node.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import ChainId

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_RETRIES = 3  # rounds over every URL
DEFAULT_BACKOFF = 0.5  # seconds before the second round; doubles each round
MAX_BACKOFF = 8.0


class RPCUnavailable(UserError):
    """No configured node answered: every URL failed at the transport level."""


class ChainIdMismatch(UserError):
    """The node answers for another chain than the strategy's: nothing may be read or sent through it."""


def redact_url(url: str) -> str:
    """`https://user:pw@mainnet.example.com/v3/KEY?x=1` -> `https://mainnet.example.com`."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def rpc_env_var(chain_id: int) -> str:
    """The environment variable holding a chain's node URLs: 56 -> `JSON_RPC_BINANCE`."""
    return "JSON_RPC_" + ChainId.name_of(chain_id).upper().replace("-", "_")


def parse_rpc_urls(value: str, source: str) -> list[str]:
    """Split a space-separated URL list and reject anything that is not http(s)."""
    urls = value.split()
    if not urls:
        raise UserError(f"{source} is empty: give one or more JSON-RPC URLs separated by spaces.")
    for i, url in enumerate(urls, start=1):
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https") or redact_url(url) == "<unparseable URL>":
            raise UserError(
                f"Entry {i} of {source} is not an http:// or https:// URL: fix {source} "
                "(space-separated URLs, websockets are not supported)."
            )
    return urls


def _transport_failure(exc: Exception) -> str:
    """A description of a requests failure without its text (which contains the full URL)."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _in_request_order(responses: list[Any]) -> list[Any]:
    """JSON-RPC 2.0 lets a node answer a batch in any order; our request ids count up."""
    if all(isinstance(r, dict) and r.get("id") is not None for r in responses):
        return sorted(responses, key=lambda r: r["id"])
    return responses  # an answer without ids (some errors): only its order is left to trust


class FailoverHTTPProvider(JSONBaseProvider):
    """An HTTP JSON-RPC provider over several URLs of the same chain.

    The provider sticks to the URL that answered last. When it fails at the transport
    level the next URL is tried at once; when every URL failed, it waits (exponential
    backoff) and tries them all again, `retries` times in all, then raises `RPCUnavailable`.
    """

    def __init__(
        self,
        urls: Sequence[str],
        source: str = "the JSON-RPC URL",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        if not urls:
            raise UserError(f"{source} has no URL: give one or more JSON-RPC URLs separated by spaces.")
        self.urls = list(urls)
        self.source = source
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json"})
        self._current = 0
        self._lock = threading.Lock()
        self.expected_chain_id: int | None = None
        self._verified: set[int] = set()  # indexes of URLs known to be on expected_chain_id
        self._wrong_chains: dict[int, int] = {}  # index -> the chain id it answered last time
        self._failing: set[int] = set()  # indexes of URLs in an outage (warned once)

    @property
    def hosts(self) -> str:
        return ", ".join(redact_url(u) for u in self.urls)

    @property
    def current_host(self) -> str:
        return redact_url(self.urls[self._current])

    def __str__(self) -> str:
        return f"JSON-RPC {self.hosts}"

    __repr__ = __str__

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            return super().is_connected(show_traceback)
        except RPCUnavailable:
            if show_traceback:
                raise
            return False

    def expect_chain(self, chain_id: int) -> None:
        """From now on use a URL only once it answered `eth_chainId` with `chain_id`.

        The chain id check at connection time asks whichever URL answers first; without this,
        a failover to a misconfigured URL (another chain's node in the list) would read
        balances and prices, and send transactions, on the wrong chain."""
        with self._lock:
            self.expected_chain_id = chain_id
            self._verified = {self._current}

    def _wrong_chain(self, index: int) -> str | None:
        """Why URL `index` must not be used (transport failure or another chain), or None.

        A URL is verified once, and again after every transport failure: a node that comes
        back from an outage may be another node (a restarted container, a changed DNS entry)."""
        expected = self.expected_chain_id
        if expected is None or index in self._verified:
            return None
        answer = self._try(self.urls[index], self.encode_rpc_request(RPCEndpoint("eth_chainId"), []))
        if isinstance(answer, str):
            self._wrong_chains.pop(index, None)
            return answer
        try:
            actual = int(answer["result"], 16)
        except (KeyError, TypeError, ValueError):
            return "did not answer eth_chainId"
        if actual != expected:
            self._wrong_chains[index] = actual
            logger.error(
                "JSON-RPC node %s in %s is on chain %d, not %d: it is never used",
                redact_url(self.urls[index]),
                self.source,
                actual,
                expected,
            )
            return f"is on chain {actual}, not {expected}"
        with self._lock:
            self._verified.add(index)
            self._wrong_chains.pop(index, None)
        return None

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return self._post(self.encode_rpc_request(method, params), str(method))

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]) -> Any:
        response = self._post(self.encode_batch_rpc_request(batch_requests), "batch")
        if not isinstance(response, list):
            return response  # the node rejected the whole batch with one error object
        return _in_request_order(response)

    def forward(self, body: bytes) -> Any:
        """Send an already encoded JSON-RPC request or batch with failover; the decoded answer.

        For a loopback relay (the fork simulation) that must reach the nodes without ever
        giving their URLs to another process."""
        return self._post(body, "relayed request")

    def _post(self, body: bytes, what: str) -> Any:
        failures: dict[str, str] = {}
        for round_no in range(self.retries):
            if round_no and len(self._wrong_chains) == len(self.urls):
                break  # every node answers, for another chain: waiting will not help
            if round_no:
                time.sleep(min(self.backoff * 2 ** (round_no - 1), MAX_BACKOFF))
            with self._lock:
                start = self._current
            for offset in range(len(self.urls)):
                index = (start + offset) % len(self.urls)
                url = self.urls[index]
                outcome = self._wrong_chain(index) or self._try(url, body)
                if not isinstance(outcome, str):
                    if index != start:
                        with self._lock:
                            self._current = index
                        logger.warning("JSON-RPC failover: now using %s", redact_url(url))
                    if index in self._failing:
                        self._failing.discard(index)
                        logger.warning("JSON-RPC node %s answers again", redact_url(url))
                    return outcome
                failures[redact_url(url)] = outcome
                with self._lock:
                    self._verified.discard(index)  # check its chain again once it answers
                    first = index not in self._failing
                    self._failing.add(index)
                # one warning per outage of a URL; its retries at debug level (a node down for an
                # hour would otherwise log thousands of lines)
                (logger.warning if first else logger.debug)(
                    "JSON-RPC node %s %s on %s (round %d of %d)",
                    redact_url(url),
                    outcome,
                    what,
                    round_no + 1,
                    self.retries,
                )
        detail = "; ".join(f"{host} {why}" for host, why in failures.items())
        if self.expected_chain_id is not None and len(self._wrong_chains) == len(self.urls):
            actual = sorted(set(self._wrong_chains.values()))
            raise ChainIdMismatch(
                f"The node in {self.source} ({self.hosts}) is now on chain {', '.join(map(str, actual))}, not "
                f"{self.expected_chain_id} ({ChainId.name_of(self.expected_chain_id)}): nothing is read or sent "
                f"through it; point {self.source} at a {ChainId.name_of(self.expected_chain_id)} node and restart."
            )
        raise RPCUnavailable(
            f"No JSON-RPC node answered ({detail}): check that the node is up and that {self.source} is right."
        )

    def _try(self, url: str, body: bytes) -> Any:
        """The decoded JSON-RPC response, or a short reason (str) why this URL failed."""
        try:
            response = self.session.post(url, data=body, timeout=self.timeout)
        except requests.RequestException as e:
            return _transport_failure(e)
        status = response.status_code
        if status == 429 or status >= 500:
            return f"answered HTTP {status}"
        try:
            decoded = self.decode_rpc_response(response.content)
        except (ValueError, UnicodeDecodeError):
            return f"answered HTTP {status} with a body that is not JSON"
        if not _is_json_rpc(decoded):
            return f"answered HTTP {status} with a body that is not JSON-RPC"
        return decoded


def _is_json_rpc(decoded: Any) -> bool:
    if isinstance(decoded, list):
        return all(isinstance(d, dict) and ("result" in d or "error" in d) for d in decoded)
    return isinstance(decoded, dict) and ("result" in decoded or "error" in decoded)


def create_web3(
    chain_id: int,
    env: Mapping[str, str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    check_chain: bool = True,
) -> Web3:
    """A Web3 over the URLs in `JSON_RPC_<CHAIN>`, verified to be on `chain_id`."""
    env = os.environ if env is None else env
    var = rpc_env_var(chain_id)
    value = env.get(var, "")
    if not value.strip():
        raise UserError(
            f"{var} is not set: give the JSON-RPC URL of a {ChainId.name_of(chain_id)} node "
            "(several URLs separated by spaces fail over in order)."
        )
    provider = FailoverHTTPProvider(
        parse_rpc_urls(value, var), source=var, timeout=timeout, retries=retries, backoff=backoff
    )
    web3 = Web3(provider)
    if check_chain:
        check_chain_id(web3, chain_id, var)
        provider.expect_chain(chain_id)  # and every URL a failover lands on, before its first use
    return web3


def check_chain_id(web3: Web3, expected: int, env_var: str | None = None) -> int:
    """Refuse to trade on a node of another chain than the strategy's CHAIN_ID."""
    env_var = env_var or rpc_env_var(expected)
    actual = web3.eth.chain_id
    if actual != expected:
        hosts = getattr(web3.provider, "hosts", "the node")
        raise ChainIdMismatch(
            f"The node in {env_var} ({hosts}) is on chain {actual} ({ChainId.name_of(actual)}) but the "
            f"strategy's CHAIN_ID is {expected} ({ChainId.name_of(expected)}): point {env_var} at a "
            f"{ChainId.name_of(expected)} node or fix CHAIN_ID."
        )
    return actual
