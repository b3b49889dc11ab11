"""Telling the world what the executor does: logs, Discord, Logstash, statsd, heartbeat, Sentry.

Entry points: `logging_setup.setup_logging()` (every command), `reporter.Reporter` (the
trading loop's one object for cycle events), `metrics.MetricsRegistry` (statsd and the
webhook's `/metrics`). Every channel is isolated: a broken one warns once and is counted,
trading goes on. `tradeexecutor.cli.monitoring.start_monitoring()` wires it all.
"""
