"""Running a strategy: the cycle runner, the live and backtest loops, and the run state they publish."""
