"""Real processes for the fault tests: started with the test's data root, watched, and
killed with SIGKILL (no cleanup code of theirs runs)."""

import os
import signal
import subprocess
import sys
import time

import pytest


def start(script: str, *args: str) -> subprocess.Popen:
    """A Python process running `script` with the test's data root."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll `condition` every millisecond while `process` runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended before it could be killed: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("timed out waiting for the process")
        time.sleep(0.001)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()  # reaped: its pid no longer names a live process
