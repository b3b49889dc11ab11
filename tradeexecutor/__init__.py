"""trade-executor: run one Python strategy module as a backtest or live on Uniswap v2 style DEXes."""
