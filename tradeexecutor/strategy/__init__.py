"""Strategy modules: the contract and its loader, cycle durations, the trading universe and
the point-in-time view of it that `decide_trades` receives each cycle."""
