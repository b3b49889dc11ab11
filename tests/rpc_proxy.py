"""The fault-injecting JSON-RPC proxy, importable as `rpc_proxy` by the tests (it lives in devchain/,
where benchmarks/chaos.py uses it too)."""

from tradeexecutor.devchain.rpc_proxy import (
    BLACKHOLE,
    FORWARD,
    REFUSE,
    SLOW,
    RpcProxy,
    json_rpc_error,
    methods_of,
)

__all__ = ["BLACKHOLE", "FORWARD", "REFUSE", "SLOW", "RpcProxy", "json_rpc_error", "methods_of"]
