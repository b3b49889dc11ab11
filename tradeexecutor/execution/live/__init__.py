"""Live trading on Uniswap v2 style exchanges, wired to the state.

The models here plug into the one cycle runner (`execution/runner.py`):

- `UniswapV2LivePricing` (pricing.py): what a trade would cost now, from pool reserves;
- `UniswapV2Valuation` (valuation.py): open positions at the price selling them would fetch;
- `UniswapV2ExecutionModel` (execution_model.py): plan, sign, record, save, broadcast, confirm,
  decode and book each trade;
- `WalletSync` (sync.py): resolve unfinished transactions, then book what changed on chain;
- `TradeRecovery` (recovery.py): the crash-consistency engine used on start and at each sync.

`LiveRouting` (routes.py) says which exchange and pools each pair is traded through from
the reserve currency; everything else asks it.
"""
