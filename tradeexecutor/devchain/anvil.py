"""Run anvil as a child process that can never outlive us.

Three layers make sure no anvil is left behind: `stop()` from the owner (context manager
exit, Ctrl-C, SIGTERM turned into an exception by the CLI), an `atexit` hook for any
other normal interpreter exit, and the Linux parent-death signal for the case where we
are killed with SIGKILL and run no code at all.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from tradeexecutor.devchain.tooling import find_anvil
from tradeexecutor.errors import UserError

_LISTENING = re.compile(r"Listening on ([0-9.]+):(\d+)")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class AnvilProcess:
    """One anvil node on loopback. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        chain_id: int | None = None,
        fork_url: str | None = None,
        block_time: float | None = None,
        extra_args: tuple[str, ...] = (),
        binary: Path | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.port = port
        self.host = host
        self.chain_id = chain_id
        self.fork_url = fork_url
        self.block_time = block_time
        self.extra_args = extra_args
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=500)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        cmd = [str(self.binary or find_anvil()), "--host", self.host, "--port", str(self.port)]
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        if self.fork_url:
            cmd += ["--fork-url", self.fork_url]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd + list(self.extra_args)

    def start(self) -> str:
        """Spawn anvil and return its RPC URL once it listens."""
        cmd = self.command()
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,  # we decide when it stops, not the terminal's Ctrl-C
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        assert self.process.stdout is not None
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            # Keep draining: anvil logs every RPC call and would block on a full pipe.
            for line in self.process.stdout:  # type: ignore[union-attr]
                self.output.append(line.rstrip())
                if not ready.is_set():
                    m = _LISTENING.search(line)
                    if m:
                        found.append(f"http://{m.group(1)}:{m.group(2)}")
                        ready.set()
            ready.set()

        threading.Thread(target=pump, name=f"anvil-output-{self.process.pid}", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not found:
            self.stop()
            tail = " ".join(list(self.output)[-5:])
            if "Address already in use" in tail or "address already in use" in tail.lower():
                raise UserError(
                    f"Port {self.port} on {self.host} is already in use: stop what listens there "
                    "or choose another port (0 picks a free one)."
                )
            raise UserError(f"anvil did not start ({' '.join(cmd[1:])}): {tail[-300:] or 'no output'}.")
        self.url = found[0]
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate by PID; escalate to SIGKILL if it does not exit in time. Idempotent."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        atexit.unregister(self.stop)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> AnvilProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_exit(process: AnvilProcess, poll: float = 0.5) -> None:
    """Block until the node exits (used by `devchain up` in the foreground)."""
    while process.is_running():
        time.sleep(poll)
