"""Everything that talks to an EVM chain: connection, wallet, gas, transactions, Uniswap v2."""
