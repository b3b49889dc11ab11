"""Order audit: the hot wallet did nothing the state does not know, and the state invents nothing.

Three checks, from the last audit's cursor (or the whole history for `trade-executor audit`):

1. every transaction the state records as mined (of trades mined since the cursor) is on
   chain: its receipt exists, sent by the hot wallet, in the recorded block, with the
   recorded outcome;
2. every nonce the wallet used since the cursor (its transaction count at the audited
   block says how many) belongs to a transaction the state recorded. A nonce used by
   anything else is a transaction made with the executor's key outside the executor: a
   compromised key, or another program sharing the wallet. Its hash is found by a binary
   search over the account's transaction count per block;
3. every Swap event on the audited pools (pairs traded since the cursor, open positions,
   AUDIT_PAIRS, and their intermediate pools) that paid the hot wallet comes from a known
   transaction. A swap sent by the wallet itself and unknown to the state fails the audit;
   one sent by another account that merely paid the wallet is a deposit, noted and left to
   the balance audit and the wallet sync.

Nonces below the first transaction the state recorded predate the executor and are not
audited (the first audit of a state says so).
"""

from __future__ import annotations

from collections import defaultdict

from tradeexecutor.audit.chain import (
    find_transaction_by_nonce,
    sender_of,
    transaction_count,
    wallet_swap_logs,
)
from tradeexecutor.audit.context import MINED, AuditContext, known_transactions
from tradeexecutor.audit.model import AuditSection, AuditType
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import address_key
from tradeexecutor.state.state import State
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus

MAX_NAMED_UNKNOWN_NONCES = 10  # each costs a binary search; a flood is reported by count
OUTSIDE = "made outside this executor (a compromised key, or another program using the same wallet)"


def check_recorded_on_chain(state: State, ctx: AuditContext, section: AuditSection) -> None:
    trades = ctx.trades_to_verify(state)
    mined = [(t, tx) for t in trades for tx in t.blockchain_transactions if tx.status in MINED]
    ctx.receipts.prefetch(tx.tx_hash for _, tx in mined)
    wallet = address_key(ctx.wallet_address)
    for trade, tx in mined:
        what = f"transaction {tx.tx_hash} (nonce {tx.nonce}) of trade #{trade.trade_id} ({trade.pair.ticker})"
        receipt = ctx.receipts.get(tx.tx_hash)
        if receipt is None:
            section.fail(f"{what} is recorded as {tx.status} but is not on chain", tx_hash=tx.tx_hash)
            continue
        succeeded = receipt["status"] == 1
        problems = []
        if address_key(receipt["from"]) != wallet or address_key(tx.from_address) != wallet:
            problems.append(f"it was sent by {receipt['from']}, not the hot wallet {ctx.wallet_address}")
        if succeeded != (tx.status == TxStatus.success):
            problems.append(
                f"it {'succeeded' if succeeded else 'reverted'} on chain but the state says {tx.status}"
            )
        if tx.block_number is not None and receipt["blockNumber"] != tx.block_number:
            problems.append(
                f"it is in block {receipt['blockNumber']} on chain but the state says block {tx.block_number} "
                "(a reorganisation after it was confirmed?)"
            )
        for problem in problems:
            section.fail(f"{what}: {problem}", tx_hash=tx.tx_hash)
    if mined:
        section.checked.append(f"{len(mined)} recorded transaction(s) found on chain as recorded")


def check_nonces(state: State, ctx: AuditContext, section: AuditSection) -> int:
    """Check the wallet's nonces since the cursor; return its transaction count at the audited block."""
    count = transaction_count(ctx.web3, ctx.wallet_address, ctx.block)
    wallet = address_key(ctx.wallet_address)
    recorded: dict[int, list[BlockchainTransaction]] = defaultdict(list)
    for _, tx in known_transactions(state).values():
        if address_key(tx.from_address) == wallet:
            recorded[tx.nonce].append(tx)
    cursor = state.audit_cursor
    if not ctx.full and cursor.next_nonce is not None:
        start = cursor.next_nonce
    elif recorded:
        start = min(recorded)
        if start > 0:
            section.notes.append(
                f"nonces 0-{start - 1} predate the first transaction this state recorded and are not audited"
            )
    else:
        start = count
        if count:
            section.notes.append(
                f"the wallet sent {count} transaction(s) before this state recorded any; they are not audited"
            )

    unknown: list[int] = []
    for nonce in range(start, count):
        txs = recorded.get(nonce, [])
        if any(tx.status in MINED for tx in txs):
            continue
        pending = [tx for tx in txs if tx.status in (TxStatus.signed, TxStatus.broadcast)]
        if any(ctx.receipts.get(tx.tx_hash) is not None for tx in pending):
            section.notes.append(f"nonce {nonce}: mined, not yet resolved by the executor")
            continue
        unknown.append(nonce)
    low = (cursor.last_block + 1) if (not ctx.full and cursor.last_block is not None) else 0
    for nonce in unknown[:MAX_NAMED_UNKNOWN_NONCES]:
        tx_hash = find_transaction_by_nonce(ctx.web3, ctx.wallet_address, nonce, low, ctx.block)
        shown = (
            f"transaction {tx_hash}"
            if tx_hash
            else "a transaction (its hash could not be found on this node)"
        )
        section.fail(
            f"nonce {nonce} of the hot wallet was used by {shown}, which the state does not know: {OUTSIDE}",
            tx_hash=tx_hash,
        )
    if len(unknown) > MAX_NAMED_UNKNOWN_NONCES:
        section.fail(
            f"{len(unknown) - MAX_NAMED_UNKNOWN_NONCES} more nonces of the hot wallet (up to {unknown[-1]}) were "
            f"used by transactions the state does not know: {OUTSIDE}"
        )
    section.checked.append(
        f"nonces {start}-{count - 1}: every one recorded" if count > start else "no new nonce"
    )
    return count


def check_swap_events(state: State, ctx: AuditContext, section: AuditSection) -> None:
    since = ctx.since_block(state)
    if since is None:
        blocks = [
            tx.block_number
            for _, tx in known_transactions(state).values()
            if tx.status in MINED and tx.block_number is not None
        ]
        if not blocks:
            section.checked.append("no swap to scan for: the state has no mined transaction yet")
            return
        from_block = min(blocks)
    else:
        from_block = since + 1
    pools: dict[str, str] = {}
    for pair in ctx.pairs(state):
        try:
            for pool in ctx.routing.pools(pair):
                pools.setdefault(address_key(pool.pool_address), pool.ticker)
        except UserError as e:
            section.fail(f"the swaps of {pair.ticker} cannot be audited: {e}")
    if not pools:
        section.checked.append("no pair to scan for swaps")
        return
    logs = wallet_swap_logs(ctx.web3, list(pools), ctx.wallet_address, from_block, ctx.block)
    known = known_transactions(state)
    reported = {p.tx_hash.lower() for p in section.problems if p.tx_hash}
    seen: set[str] = set()
    for log in logs:
        tx_hash = log["transactionHash"].lower()
        if tx_hash in known or tx_hash in seen:
            continue
        seen.add(tx_hash)
        pool = pools.get(address_key(log["address"]), log["address"])
        sender = sender_of(ctx.web3, tx_hash)
        if sender is not None and address_key(sender) != address_key(ctx.wallet_address):
            section.notes.append(
                f"swap {tx_hash} on {pool} by {sender} paid tokens into the hot wallet: a deposit from another "
                "account, not the executor's"
            )
        elif tx_hash not in reported:
            section.fail(
                f"swap {tx_hash} on {pool} (block {int(log['blockNumber'], 16)}) was sent by the hot wallet but the "
                f"state does not know it: {OUTSIDE}",
                tx_hash=tx_hash,
            )
    section.checked.append(
        f"{len(logs)} swap(s) by or paying the wallet on {len(pools)} pool(s), blocks {from_block}-{ctx.block}"
    )


def audit_order(state: State, ctx: AuditContext) -> tuple[AuditSection, int]:
    """The section, and the wallet's transaction count at the audited block (the cursor's next nonce)."""
    section = AuditSection(AuditType.order)
    cursor = state.audit_cursor
    if cursor.last_block is not None and cursor.last_block > ctx.block:
        section.fail(
            f"the state was audited up to block {cursor.last_block} but the node is at block {ctx.block}: "
            "a node that is behind, or the wrong chain"
        )
    check_recorded_on_chain(state, ctx, section)
    count = check_nonces(state, ctx, section)
    check_swap_events(state, ctx, section)
    return section, count
