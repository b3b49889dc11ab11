"""`trade-executor create-wallet`: make a new hot wallet key.

This is the one place the product prints a private key, by design: the operator must see
it once to store it. Nothing is written to disk, so no stray copy is left behind.
"""

from __future__ import annotations

import typer


def create_wallet() -> None:
    """Generate a new hot wallet and print its private key and address (store the key safely)."""
    from tradeexecutor.ethereum.wallet import HotWallet

    wallet = HotWallet.create()
    typer.echo("New hot wallet")
    typer.echo(f"  address      {wallet.address}")
    typer.echo(f"  private key  {wallet.export_private_key()}")
    typer.echo("")
    typer.echo(
        "Store the private key safely now (a password manager or a paper backup): anyone who has it "
        "controls this wallet's funds, and if you lose it the funds are lost. Put it in your secret "
        ".env file as PRIVATE_KEY=... and never commit it; then send the wallet native gas tokens and "
        "the strategy's reserve currency."
    )
