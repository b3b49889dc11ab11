"""A local chain for the demo and the tests: anvil plus a real Uniswap v2 deployment."""
