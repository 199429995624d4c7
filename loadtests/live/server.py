"""The bedsvc server under test: one worker process pinned to one core, and its memory."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import httpx
import psutil


class ServerUnderTest:
    def __init__(
        self, port: int, cpu: int, env: dict[str, str], command: list[str] | None = None
    ) -> None:
        self.port = port
        command = command or ["-m", "bedsvc", "serve", "--port", str(port)]
        self.process = subprocess.Popen(
            ["taskset", "-c", str(cpu), sys.executable, *command],
            env=os.environ | env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("bedsvc serve exited")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{self.port}{path}").status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("bedsvc serve did not become ready")

    @property
    def worker(self) -> psutil.Process:
        """granian's worker process: the one that holds the connections."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        return max(children, key=lambda p: p.memory_info().rss)

    def rss(self) -> int:
        rss: int = self.worker.memory_info().rss
        return rss

    def cpu_seconds(self) -> float:
        times = self.worker.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
