"""``square-bi emulator`` in its own process on a free port, for benchmarks (as Square would be:
its JSON encoding never shares the measured process's GIL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PIDS: dict[str, int] = {}
"""The process of each running emulator, by base URL."""


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used so far, all its threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(base_url: str) -> float:
    """User + system CPU the emulator at ``base_url`` has used so far."""
    return process_cpu_seconds(_PIDS[base_url])


@contextmanager
def emulator(token: str, days: int, orders_per_day: int, *extra_flags: str) -> Iterator[str]:
    """Start the emulator with these flags, wait (bounded) until it listens, yield its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "square_bi.cli", "emulator", "--port", str(port), "--access-token", token]
    command += ["--days", str(days), "--orders-per-day", str(orders_per_day), *extra_flags]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.05)
        base_url = f"http://127.0.0.1:{port}"
        _PIDS[base_url] = process.pid
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
