"""Operator tools: look at a state file, export it, close positions by hand, reset, rehearse.

Everything here works from the state file first; the chain is only needed to trade.
"""
