"""Figures and reports computed from a State: backtest summary, HTML report."""
