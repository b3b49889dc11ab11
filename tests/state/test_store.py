"""JSONFileStore on real files and real processes: locks, backups, corruption, snapshots."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from tests.state.factories import T0, USDC, WETH_USDC, funded_state, hours
from tradeexecutor.state.errors import (
    StateFileCorrupt,
    StateFileExists,
    StateFileLocked,
    StateFileMissing,
    StateFileReadOnly,
    StateFileTooNew,
    StateSaveRefused,
    StateStoreError,
)
from tradeexecutor.state.serialisation import encode_state
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.state.store_worker", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def traded_state() -> State:
    state = funded_state()
    buy = state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(1000))
    state.start_trade(buy, T0)
    state.settle_trade_success(
        buy,
        T0 + hours(1),
        executed_quantity_raw=5 * 10**17,
        executed_reserve_raw=10**9,
        executed_price=Decimal(2000),
    )
    return state


def files_in(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# ---- locking ----------------------------------------------------------------------------


def test_second_writer_process_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    holder = worker("hold", str(path))
    try:
        assert holder.stdout.readline().strip() == "ready"
        second = worker("open", str(path))
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 3
        assert f"PID {holder.pid}" in out
        assert str(path) in out and "read-only" in out
        assert len(out.strip().splitlines()) == 1

        with pytest.raises(StateFileLocked) as e:  # this process too
            JSONFileStore(path)
        assert e.value.holder_pid == holder.pid

        JSONFileStore(tmp_path / "other.json").close()  # another state file is independent
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    JSONFileStore(path).close()  # released when the holder closed


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    holder = worker("hold", str(path))
    assert holder.stdout.readline().strip() == "ready"
    holder.kill()
    holder.wait(timeout=60)
    store = JSONFileStore(path)  # the kernel dropped the flock with the process
    assert (tmp_path / "executor.json.lock").read_text().strip() == str(__import__("os").getpid())
    store.close()


def test_read_only_opens_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    with JSONFileStore(path) as store:
        store.create(traded_state())
        reader = worker("read", str(path))
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        assert out.strip() == "test"
        read_only = JSONFileStore(path, read_only=True)
        assert read_only.load() == traded_state()
        with pytest.raises(StateFileReadOnly, match="opened read-only"):
            read_only.save(traded_state())
        with pytest.raises(StateFileReadOnly):
            read_only.create(traded_state())


# ---- create, save, backups ------------------------------------------------------------


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    with JSONFileStore(path) as store:
        store.create(traded_state())
        before = path.read_bytes()
        with pytest.raises(StateFileExists, match="already exists"):
            store.create(funded_state())
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["executor.json", "executor.json.lock"]


def test_load_of_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StateFileMissing, match="does not exist"):
        JSONFileStore(tmp_path / "nope.json", read_only=True).load()


def test_saves_rotate_backups_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    state = traded_state()
    versions: list[bytes] = []
    with JSONFileStore(path, backups=3) as store:
        for n in range(6):
            state.strategy_id = f"v{n}"
            (store.create if n == 0 else store.save)(state)
            versions.append(path.read_bytes())
        assert [p.name for p in store.backup_paths()] == [
            "executor.json.1",
            "executor.json.2",
            "executor.json.3",
        ]
    assert path.read_bytes() == versions[5]
    assert (tmp_path / "executor.json.1").read_bytes() == versions[4]
    assert (tmp_path / "executor.json.2").read_bytes() == versions[3]
    assert (tmp_path / "executor.json.3").read_bytes() == versions[2]
    assert not (tmp_path / "executor.json.4").exists()
    assert JSONFileStore(tmp_path / "executor.json.3", read_only=True).load().strategy_id == "v2"


@pytest.mark.parametrize("backups", [0, 1])
def test_backup_count_is_configurable(tmp_path: Path, backups: int) -> None:
    path = tmp_path / "executor.json"
    with JSONFileStore(path, backups=backups) as store:
        store.create(traded_state())
        for _ in range(3):
            store.save(traded_state())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["executor.json", "executor.json.lock"] + (["executor.json.1"] if backups else []))


def test_save_publishes_an_immutable_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    with JSONFileStore(path) as store:
        assert store.last_saved is None
        first = store.create(traded_state())
        assert store.last_saved is first and first.data == path.read_bytes()
        assert first.etag == hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        state = traded_state()
        state.strategy_id = "changed"
        second = store.save(state)
        assert second.generation == first.generation + 1
        assert second.etag != first.etag and second.data == path.read_bytes()
        assert first.data == encode_state(traded_state())  # the old snapshot is untouched
        with pytest.raises(AttributeError, match="immutable"):
            second.generation = 7  # type: ignore[misc]
    reader = JSONFileStore(path, read_only=True)
    reader.load()
    assert reader.last_saved.data == path.read_bytes()


def test_save_that_fails_the_integrity_check_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    state = traded_state()
    with JSONFileStore(path) as store:
        store.create(state)
        store.save(state)
        before = files_in(tmp_path)
        snapshot = store.last_saved
        state.portfolio.reserves[USDC.key].quantity_raw += 1  # a balance change without its ledger entry
        with pytest.raises(StateSaveRefused) as e:
            store.save(state)
        assert "USDC" in str(e.value) and "nothing was written" in str(e.value)
        assert files_in(tmp_path) == before
        assert store.last_saved is snapshot


def test_stale_temp_files_of_a_dead_writer_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".executor.json.999999.tmp").write_bytes(b'{"schema_version":1,"sta')
    JSONFileStore(tmp_path / "executor.json").close()
    assert not (tmp_path / ".executor.json.999999.tmp").exists()


# ---- corrupt files ----------------------------------------------------------------------


def _document() -> dict:
    return msgspec.json.decode(encode_state(traded_state()))


def _tampered(change) -> bytes:  # noqa: ANN001
    document = _document()
    change(document["state"])
    return msgspec.json.encode(document)


def _set_ledger_amount(state: dict) -> None:
    state["ledger"]["entries"][0][3] += 1  # the first USDC deposit, raw amount column


def _ledger_to_missing_trade(state: dict) -> None:
    state["ledger"]["entries"][-1][5] = 999  # trade_id column


def _trade_under_wrong_key(state: dict) -> None:
    trades = state["portfolio"]["open_positions"]["1"]["trades"]
    trades["7"] = trades.pop("1")


VALID = encode_state(traded_state())
CORRUPT_FILES = {
    "truncated": (VALID[: len(VALID) // 2], StateFileCorrupt, "not valid JSON (input data was truncated)"),
    "invalid JSON": (b'{"schema_version": 1, "state": {,}}', StateFileCorrupt, "not valid JSON"),
    "JSON array": (b"[]", StateFileCorrupt, "top level is not a JSON object"),
    "no schema_version": (b'{"state": {}}', StateFileCorrupt, "no valid schema_version"),
    "wrong type": (
        VALID.replace(b'"next_position_id":2', b'"next_position_id":"2"'),
        StateFileCorrupt,
        "expected `int`, got `str` - at `$.state.portfolio.next_position_id`",
    ),
    "newer schema": (
        VALID.replace(b'"schema_version":2', b'"schema_version":3', 1),
        StateFileTooNew,
        "was written by a newer trade-executor (schema 3, this version reads up to 2); upgrade trade-executor",
    ),
    "tampered ledger": (
        _tampered(_set_ledger_amount),
        StateFileCorrupt,
        "fails its integrity check: the ledger sums USDC",
    ),
    "ledger refers to a missing trade": (
        _tampered(_ledger_to_missing_trade),
        StateFileCorrupt,
        "the ledger refers to trade #999, which no position holds",
    ),
    "position holds a trade under another id": (
        _tampered(_trade_under_wrong_key),
        StateFileCorrupt,
        "position #1 holds trade #1 under id 7",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPT_FILES))
def test_corrupt_file_is_reported_in_one_sentence_and_left_untouched(tmp_path: Path, case: str) -> None:
    data, error, reason = CORRUPT_FILES[case]
    path = tmp_path / "executor.json"
    path.write_bytes(data)
    with JSONFileStore(path) as store:
        before = files_in(tmp_path)
        with pytest.raises(error) as e:
            store.load()
        message = str(e.value)
        assert reason in message
        assert message.startswith(f"The state file {path} ")
        assert message.endswith(".") and "\n" not in message
        assert isinstance(e.value, StateStoreError) and e.value.path == str(path)
        assert files_in(tmp_path) == before  # byte for byte, and nothing added
        assert store.last_saved is None


def test_a_failure_while_encoding_stops_the_writer_thread(tmp_path: Path) -> None:
    import threading

    from tradeexecutor.state.filewrite import write_synced

    def pieces():  # noqa: ANN202
        yield b'{"schema_version":1,'
        yield b'"state":'
        raise ValueError("encoder failed")

    before = threading.active_count()
    with pytest.raises(ValueError, match="encoder failed"):
        write_synced(tmp_path / "partial.tmp", pieces())
    assert threading.active_count() == before
    assert write_synced(tmp_path / "whole.tmp", [b"ab", b"cd"]) == [b"ab", b"cd"]
    assert (tmp_path / "whole.tmp").read_bytes() == b"abcd"
