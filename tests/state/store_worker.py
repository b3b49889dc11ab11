"""A separate process using a state store, driven by the store tests.

python -m tests.state.store_worker hold PATH        lock PATH, print "ready PID", wait for stdin to close
python -m tests.state.store_worker open PATH        try to open PATH as a writer; exit 3 with the error
python -m tests.state.store_worker read PATH        load PATH read-only, print its strategy id
python -m tests.state.store_worker save-loop PATH N build N closed positions, then save versions forever
"""

from __future__ import annotations

import sys

from tests.state.factories import many_closed_positions
from tradeexecutor.state.errors import StateStoreError
from tradeexecutor.state.store import JSONFileStore


def main(command: str, path: str, *args: str) -> int:
    if command == "hold":
        store = JSONFileStore(path)
        print("ready", flush=True)
        sys.stdin.read()
        store.close()
        return 0
    if command == "open":
        try:
            JSONFileStore(path)
        except StateStoreError as e:
            print(e, flush=True)
            return 3
        print("opened", flush=True)
        return 0
    if command == "read":
        state = JSONFileStore(path, read_only=True).load()
        print(state.strategy_id, flush=True)
        return 0
    if command == "save-loop":
        state = many_closed_positions(int(args[0]))
        store = JSONFileStore(path)
        print("ready", flush=True)
        version = 0
        while True:
            version += 1
            state.strategy_id = f"version-{version}"
            print(f"saving {version}", flush=True)
            store.save(state)
            print(f"saved {version}", flush=True)
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
