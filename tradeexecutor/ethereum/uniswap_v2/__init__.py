"""Uniswap v2 and its forks: deployments, routing, pricing, swaps."""
