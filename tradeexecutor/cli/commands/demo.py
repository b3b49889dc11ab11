"""`trade-executor demo`: the README's first command."""

from __future__ import annotations

import typer


def demo() -> None:
    """Start a local chain with Uniswap v2 and make one real router swap from the hot wallet."""
    from decimal import Decimal

    from tradeexecutor.cli.signals import install_sigterm_handler
    from tradeexecutor.devchain.chain import start_devchain
    from tradeexecutor.ethereum.uniswap_v2.swap import swap_exact_in

    install_sigterm_handler()
    typer.echo("Starting a local anvil chain and deploying Uniswap v2 ...")
    with start_devchain() as chain:
        d = chain.deployment
        usdc, weth = d.token("USDC"), d.token("WETH")
        pair = d.pair("WETH", "USDC")
        typer.echo(f"Chain {d.chain_id} at {chain.rpc_url}; router {d.router}; WETH-USDC pair {pair.address}")
        amount_in = 100 * 10**usdc.decimals
        result = swap_exact_in(
            chain.web3, chain.hot_wallet, d.router, pair.address, usdc.address, weth.address, amount_in
        )
        human_in = Decimal(result.amount_in) / 10**usdc.decimals
        human_out = Decimal(result.amount_out) / 10**weth.decimals
        typer.echo("Swapped through the Uniswap v2 router from the hot wallet:")
        typer.echo(f"  amount in   {human_in:f} USDC")
        typer.echo(f"  amount out  {human_out:.8f} WETH")
        typer.echo(f"  price       {human_in / human_out:.4f} USDC/WETH")
        typer.echo(f"  gas used    {result.gas_used:,}")
        typer.echo(f"  tx hash     {result.tx_hash}")
    typer.echo("Devchain stopped.")
