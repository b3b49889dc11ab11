"""The webhook API as an OpenAPI 3.1 document (schemas are JSON Schema 2020-12).

Generated from the route table, so every route is described; the test suite fetches every
route from a running server and validates the answers against these schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradeexecutor.state.position import PositionStatus
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.webhook.documents import (
    DEFAULT_LOG_LIMIT,
    DEFAULT_PAGE,
    LOG_LEVELS,
    MAX_LOG_LIMIT,
    MAX_OFFSET,
    MAX_PAGE,
)
from tradeexecutor.webhook.routes import Route

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(type_: str, **extra: Any) -> Schema:
    return {"type": [type_, "null"], **extra}


UNIX = {"type": "number", "description": "Unix time in seconds (UTC)."}
UNIX_OR_NULL = nullable("number", description="Unix time in seconds (UTC), null when not yet known.")
DECIMAL_OR_NULL = nullable("string", description="Decimal amount as a string, to keep full precision.")
COUNT = {"type": "integer", "minimum": 0}


def obj(properties: dict[str, Schema], required: Iterable[str] | None = None, closed: bool = True) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": not closed,
    }


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {"error": {"type": "string"}, "status": {"type": "integer"}, "path": {"type": "string"}},
        required=["error", "status"],
    ),
    "Ping": obj({"ping": {"const": "pong"}}),
    "Exception": obj(
        {
            "message": {"type": "string"},
            "exception_type": {"type": "string"},
            "traceback": {"type": "string", "description": "Redacted Python traceback."},
            "at": UNIX,
        }
    ),
    "Status": obj(
        {
            "trading_state": {
                "enum": ["running", "degraded", "halted", "stalled"],
                "description": "running; degraded (a transient fault, retrying); halted (an operator must act); "
                "stalled (a step ran longer than the watchdog allows).",
            },
            "state_reason": {
                "type": "string",
                "description": "One sentence saying what the executor is doing.",
            },
            "degraded": {"anyOf": [ref("Degraded"), {"type": "null"}]},
            "halt": {"anyOf": [ref("Halt"), {"type": "null"}]},
            "stall": {"anyOf": [ref("Stall"), {"type": "null"}]},
            "cycles_skipped": COUNT,
            "last_skipped_cycle": {
                "anyOf": [
                    obj({"cycle_at": UNIX, "reason": {"type": "string"}, "at": UNIX}),
                    {"type": "null"},
                ]
            },
            "stop_loss_check_frequency": nullable(
                "number", description="Seconds; null when the checks are off."
            ),
            "last_trigger_check_at": UNIX_OR_NULL,
            "watchdog_timeout": nullable("number", description="Seconds a step may run before `stalled`."),
            "last_refreshed_at": UNIX,
            "executor_running": {"type": "boolean"},
            "completed_cycle": nullable("integer", description="Number of the last completed cycle."),
            "exception": {"anyOf": [ref("Exception"), {"type": "null"}]},
            "strategy_id": {"type": "string"},
            "started_at": UNIX,
            "halted_reason": nullable("string"),
            "cycles_completed": COUNT,
            "cycles_failed": COUNT,
            "last_cycle_at": UNIX_OR_NULL,
            "last_cycle_duration": nullable("number", description="Seconds."),
            "current_cycle": nullable("integer", description="The cycle running now, if any."),
            "cycle_started_at": UNIX_OR_NULL,
            "expected_cycle_duration": nullable("number", description="Cycle period in seconds."),
            "last_trade_at": UNIX_OR_NULL,
            "trades_succeeded": COUNT,
            "trades_failed": COUNT,
            "frozen_positions": COUNT,
            "market_data_lag": nullable("number", description="Age of the newest candle in seconds."),
            "state_saved_at": UNIX_OR_NULL,
            "version": {"type": "string"},
            "git_revision": nullable("string"),
            "reporter_failures": {
                "type": "object",
                "additionalProperties": COUNT,
                "description": "Failed deliveries per reporting channel (discord, statsd, ...).",
            },
            "audit": {
                "anyOf": [ref("AuditSummary"), {"type": "null"}],
                "description": "The last account audit (docs/audit.md); null before the first one.",
            },
        }
    ),
    "Degraded": obj(
        {
            "since": UNIX,
            "reason": {"type": "string", "description": "The latest transient failure, one sentence."},
            "component": {
                "type": "string",
                "description": "What failed: cycle N, stop-loss check, state save, ...",
            },
            "consecutive_failures": COUNT,
            "next_attempt_at": UNIX_OR_NULL,
        }
    ),
    "Halt": obj(
        {
            "kind": {"enum": ["strategy", "invariant", "stopped"]},
            "reason": nullable("string"),
            "at": UNIX_OR_NULL,
            "stops_running": {
                "type": "boolean",
                "description": "Stop losses and take profits of open positions are still checked.",
            },
        }
    ),
    "Stall": obj({"step": {"type": "string"}, "started_at": UNIX_OR_NULL, "bound": nullable("number")}),
    "AuditSummary": obj(
        {
            "at": UNIX,
            "ok": {"type": "boolean", "description": "No audit found a problem."},
            "complete": {"type": "boolean", "description": "Every selected audit ran (none was skipped)."},
            "cycle": nullable("integer", description="The cycle after which it ran."),
            "block": {"type": "integer", "description": "Every chain read was made at this block."},
            "wallet_address": {"type": "string"},
            "headline": {"type": "string"},
            "audits": obj(
                {"balance": ref("AuditSection"), "ledger": ref("AuditSection"), "order": ref("AuditSection")},
                required=[],
            ),
            "drift": {
                "type": "array",
                "items": obj(
                    {"asset": {"type": "string"}, "amount": {"type": "string"}, "reason": {"type": "string"}}
                ),
            },
            "drift_booked": {"type": "boolean"},
        }
    ),
    "AuditSection": obj(
        {
            "status": {"enum": ["passed", "failed", "skipped"]},
            "checks": COUNT,
            "skipped_reason": nullable("string"),
            "notes": {"type": "array", "items": {"type": "string"}},
            "problems": {
                "type": "array",
                "items": obj(
                    {
                        "message": {"type": "string"},
                        "asset_key": nullable("string"),
                        "tx_hash": nullable("string"),
                    }
                ),
            },
        }
    ),
    "Health": obj(
        {
            "healthy": {"type": "boolean"},
            "reason": {"type": "string"},
            "state": {"enum": ["running", "degraded", "halted", "stalled"]},
            "stops_running": {"type": "boolean"},
            "running_for": nullable("number", description="Seconds the stalled step has been running."),
            "executor_running": {"type": "boolean"},
            "checked_at": UNIX,
            "last_cycle_at": UNIX_OR_NULL,
            "current_cycle": nullable("integer"),
            "allowed_seconds": {"type": "number"},
            "seconds_since_last_cycle": {"type": "number"},
        },
        required=["healthy", "reason", "state", "executor_running", "checked_at"],
    ),
    "Metadata": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "short_description": nullable("string"),
            "long_description": nullable("string"),
            "icon_url": nullable("string"),
            "started_at": UNIX,
            "executor_running": {"type": "boolean"},
            "version": {"type": "string"},
            "summary": obj(
                {
                    "currency": nullable("string", description="Reserve currency the amounts are in."),
                    "total_equity": DECIMAL_OR_NULL,
                    "cash": DECIMAL_OR_NULL,
                    "profit": nullable(
                        "string", description="Realised plus unrealised profit of every position."
                    ),
                    "open_positions": COUNT,
                    "frozen_positions": COUNT,
                },
            ),
        }
    ),
    "Position": obj(
        {
            "position_id": {"type": "integer"},
            "pair": {"type": "string"},
            "status": {"enum": [s.value for s in PositionStatus]},
        },
        required=["position_id"],
        closed=False,
    ),
    "Trade": obj(
        {
            "trade_id": {"type": "integer"},
            "position_id": {"type": "integer"},
            "pair": {"type": "string"},
            "side": {"enum": ["buy", "sell"]},
            "status": {"enum": [s.value for s in TradeStatus]},
            "tx_hash": nullable("string"),
        },
        required=["trade_id"],
        closed=False,
    ),
    "LogRecord": obj(
        {
            "at": UNIX,
            "level": {"enum": list(LOG_LEVELS)},
            "logger": {"type": "string"},
            "message": {"type": "string"},
            "strategy_id": nullable("string"),
            "cycle": nullable("integer"),
            "trade_id": {"type": ["integer", "string", "null"]},
        }
    ),
    "Logs": obj(
        {"records": {"type": "array", "items": ref("LogRecord")}, "buffered": COUNT, "capacity": COUNT},
    ),
}


def page_schema(key: str, item: str) -> Schema:
    return obj(
        {
            "total": COUNT,
            "offset": COUNT,
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "order": {"enum": ["asc", "desc"]},
            key: {"type": "array", "items": ref(item)},
        }
    )


SCHEMAS["PositionPage"] = page_schema("positions", "Position")
SCHEMAS["TradePage"] = page_schema("trades", "Trade")


def json_content(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def response(description: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, **({"content": content} if content else {})}


ERROR = json_content(ref("Error"))
TEXT = {"schema": {"type": "string"}}

PAGE_PARAMETERS = [
    {
        "name": "offset",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        "description": "Items to skip (after ordering).",
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
    },
    {
        "name": "order",
        "in": "query",
        "schema": {"enum": ["asc", "desc"], "default": "asc"},
        "description": "By id: asc (the default) lists the oldest first, desc the newest first.",
    },
]

RESPONSES: dict[str, dict[str, Any]] = {
    "ping": {"200": response("The webhook is up.", json_content(ref("Ping")))},
    "health": {
        "200": response("Trading runs and the last cycle finished in time.", json_content(ref("Health"))),
        "503": response(
            "Trading is halted or cycles are overdue; `reason` says which.", json_content(ref("Health"))
        ),
    },
    "status": {"200": response("Executor status.", json_content(ref("Status")))},
    "metadata": {"200": response("Strategy metadata.", json_content(ref("Metadata")))},
    "state": {
        "200": response(
            "The state file as last saved; gzip-encoded when Accept-Encoding allows.",
            json_content({"type": "object"}),
        ),
        "304": response("Unchanged since the ETag given in If-None-Match."),
        "404": response("No state has been saved yet.", ERROR),
    },
    "positions": {
        "200": response("A page of positions.", json_content(ref("PositionPage"))),
        "400": response("Bad offset, limit or order.", ERROR),
    },
    "trades": {
        "200": response("A page of trades.", json_content(ref("TradePage"))),
        "400": response("Bad offset, limit or order.", ERROR),
    },
    "logs": {
        "200": response("Recent log records, oldest first.", json_content(ref("Logs"))),
        "400": response("Bad level or limit.", ERROR),
    },
    "source": {
        "200": response("Strategy source code.", {"text/plain": TEXT}),
        "404": response("No source was published.", ERROR),
    },
    "metrics": {"200": response("Prometheus text exposition format 0.0.4.", {"text/plain": TEXT})},
    "openapi": {"200": response("This document.", json_content({"type": "object"}))},
}

PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "positions": PAGE_PARAMETERS,
    "trades": PAGE_PARAMETERS,
    "logs": [
        {
            "name": "level",
            "in": "query",
            "schema": {"enum": list(LOG_LEVELS), "default": "info"},
            "description": "Minimum level.",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LOG_LIMIT,
                "default": DEFAULT_LOG_LIMIT,
            },
        },
    ],
    "state": [
        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
        {"name": "Accept-Encoding", "in": "header", "schema": {"type": "string"}},
    ],
}


def query_parameters(routes: Iterable[Route]) -> dict[str, frozenset[str]]:
    """{path: the query parameters its route takes}: the server refuses any other (400), as the
    document says, so a typo such as `?limt=5` is not silently ignored."""
    return {
        route.path: frozenset(p["name"] for p in PARAMETERS.get(route.name, ()) if p["in"] == "query")
        for route in routes
    }


def openapi_document(routes: Iterable[Route], version: str, auth: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        if route.name not in RESPONSES:
            raise KeyError(f"route {route.name!r} has no responses declared in webhook/openapi.py")
        responses = dict(RESPONSES[route.name])
        responses.setdefault("400", response("An unknown query parameter.", ERROR))
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "responses": responses,
        }
        if route.name in PARAMETERS:
            operation["parameters"] = PARAMETERS[route.name]
        if route.public:
            operation["security"] = []
        else:
            responses["401"] = response("Basic authentication required (when enabled).", ERROR)
        paths[route.path] = {"get": operation}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "trade-executor webhook",
            "version": version,
            "description": "Read-only view of a running trade-executor. Times are unix seconds; "
            "decimal amounts are strings. Unknown paths answer 404 and unsupported methods 405, "
            "with a JSON error; a query parameter a route does not take answers 400.",
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
    if auth:
        document["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
        document["security"] = [{"basic": []}]
    return document
