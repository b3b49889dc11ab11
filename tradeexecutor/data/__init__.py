"""Market data: candle time buckets, the canonical candle shape, and the sources behind the
one `CandleSource` interface (files, synthetic market, on-chain Swap events)."""
