"""Running a strategy: one cycle, the backtest loop, the live loop, and the run state."""
