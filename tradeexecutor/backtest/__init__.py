"""The backtester: simulated fills from candles, booked through the same State and CycleRunner
as live trading. docs/backtesting.md describes the fill rules."""
