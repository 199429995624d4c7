"""The server under test (`bedsvc serve`, or the bare baseline) pinned to one core, and the
memory and CPU of its whole process group (HTTP workers and live processes together)."""

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
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if command[1] == "loadtests.live.bare" else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{self.port}{path}").status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    def processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.process.pid)
        return [main, *main.children(recursive=True)]

    def live_processes(self) -> list[psutil.Process]:
        return [p for p in self.processes() if "bedsvc.live" in p.cmdline()]

    @property
    def worker(self) -> psutil.Process:
        """The process holding the most memory: the one the connections are on."""
        return max(self.processes(), key=lambda p: p.memory_info().rss)

    def rss(self) -> int:
        """Resident memory of the whole process group (taskset's child and its children)."""
        return sum(p.memory_info().rss for p in self.processes())

    def cpu_seconds(self) -> float:
        return sum(float(t.user + t.system) for p in self.processes() for t in [p.cpu_times()])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
