"""ERC-20 tokens: details as AssetIdentifier, balances, allowances, and the reserve check."""

from __future__ import annotations

from decimal import Decimal

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3RPCError

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.abi import ERC20, abi
from tradeexecutor.ethereum.gas import human
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId


def erc20(web3: Web3, address: str) -> Contract:
    return web3.eth.contract(address=Web3.to_checksum_address(address), abi=abi(ERC20))


def fetch_token(web3: Web3, address: str, chain_id: int | None = None) -> AssetIdentifier:
    """Read symbol, name and decimals; a clear UserError when the address is not a token."""
    chain_id = web3.eth.chain_id if chain_id is None else chain_id
    try:
        checksummed = Web3.to_checksum_address(address)
    except ValueError:
        raise UserError(f"{address!r} is not a token address (0x followed by 40 hex digits).") from None
    if not web3.eth.get_code(checksummed):
        raise UserError(
            f"There is no contract at token address {checksummed} on {ChainId.name_of(chain_id)} "
            f"(chain {chain_id}): check the token address."
        )
    token = erc20(web3, checksummed)
    try:
        decimals = token.functions.decimals().call()
    except (ContractLogicError, BadFunctionCallOutput, Web3RPCError):
        raise UserError(
            f"The contract at {checksummed} on {ChainId.name_of(chain_id)} is not an ERC-20 token "
            "(decimals() failed): check the token address."
        ) from None
    symbol = _optional_text(token, "symbol") or checksummed[:8]
    name = _optional_text(token, "name") or symbol
    return AssetIdentifier(
        chain_id=chain_id, address=checksummed, symbol=symbol, decimals=decimals, name=name
    )


def _optional_text(token: Contract, fn: str) -> str | None:
    """Some old tokens return bytes32 or nothing for symbol()/name(); treat those as unknown."""
    try:
        return str(getattr(token.functions, fn)().call())
    except (ContractLogicError, BadFunctionCallOutput, Web3RPCError, OverflowError, UnicodeDecodeError):
        return None


def balance_of(web3: Web3, token: AssetIdentifier, owner: str) -> int:
    return erc20(web3, token.address).functions.balanceOf(owner).call()


def allowance(web3: Web3, token: AssetIdentifier, owner: str, spender: str) -> int:
    return erc20(web3, token.address).functions.allowance(owner, spender).call()


def check_reserve_balance(
    web3: Web3, owner: str, reserve: AssetIdentifier, minimum: Decimal = Decimal(0)
) -> Decimal:
    """The wallet's reserve balance; a UserError when it holds none (or under `minimum`)."""
    balance = reserve.to_decimal(balance_of(web3, reserve, owner))
    if balance <= 0 or balance < minimum:
        raise UserError(
            f"Hot wallet {owner} holds {human(balance)} {reserve.symbol}, the strategy's reserve currency "
            f"({reserve.address}): deposit {reserve.symbol} to it before trading."
        )
    return balance
