"""One subscriber process of the fan-out load test: many WebSocket (or event-stream)
connections, each recording the version, arrival time and hospitals of every frame.

The subscribers speak just enough HTTP and WebSocket by hand on a plain asyncio Protocol (under
uvloop when installed): a general client library costs several times more per message than the
server does, and with every subscriber process on one core the client, not the server, would
be what is measured.

Run by the runner as `python -m loadtests.live.client URL COUNT OUT`; URL may be `@FILE`, a file
of URLs (one a line, taken in turn: filtered subscribers). It prints `ready N F` once its N
subscribers hold their snapshots (F failed to connect), then waits for a line on stdin, writes
what each subscriber received to OUT (msgpack) and exits.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import msgspec

CONNECT_CONCURRENCY = 100


# Every frame starts `{"type":"…","version":N,` (the tag, then the fields in order), on either
# transport; hospitals inside a frame carry neither key. Every frame ends with the `versions`
# of the hospitals it carries (each hospital's own), a flat object.
MESSAGE = re.compile(rb'\{"type":"(\w)\w*","version":(\d+),')
START = b'{"type":"'
VERSIONS = b'"versions":{'
ENTRY = re.compile(rb'"([^"]+)":(\d+)')


class Received(msgspec.Struct, array_like=True):
    """What one subscriber saw, frame by frame: whether it was a snapshot, the global version,
    the monotonic arrival time, and the hospitals the frame carries with each one's own
    version; and whether the server ended the connection before the run did. The first frame
    is the snapshot the subscriber started from."""

    snapshots: list[bool]
    versions: list[int]
    times: list[float]
    codes: list[list[str]]
    hospital_versions: list[list[int]]
    close_code: int | None = None
    target: str = ""  # the path and query it subscribed to


class Subscriber(asyncio.Protocol):
    """Finds the messages in the byte stream with one regular expression per read, whatever
    the framing (WebSocket frames, chunked event-stream): a client that parsed every frame in
    Python would cost more per message than the server, and be what is measured."""

    def __init__(self, host: str, target: str, websocket: bool) -> None:
        self.websocket = websocket
        self.request = self.request_for(host, target)
        self.buffer = b""
        self.upgraded = False
        self.result = Received(
            snapshots=[], versions=[], times=[], codes=[], hospital_versions=[], target=target
        )
        self.snapshot = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.stopping = False

    def request_for(self, host: str, target: str) -> bytes:
        if not self.websocket:
            head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
            return head.encode()
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError("closed before the snapshot"))
        if not self.stopping:
            self.result.close_code = 1006

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer + data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = b"HTTP/1.1 101" if self.websocket else b"HTTP/1.1 200"
            if not buffer.startswith(status):
                self.snapshot.set_exception(ConnectionError(buffer[:40].decode()))
                return
            buffer = buffer[end + 4 :]
            self.upgraded = True
        result = self.result
        position = 0
        while (match := MESSAGE.search(buffer, position)) is not None:
            kind, version = match.group(1), int(match.group(2))
            start = buffer.find(VERSIONS, match.end())
            end = buffer.find(b"}", start) if start >= 0 else -1
            if end < 0:
                position = match.start()  # the rest of this frame is yet to come
                break
            # The first snapshot's hospitals are not kept: pushes start after every subscriber
            # holds it (and thousands of subscribers would keep every code of the region).
            first = not self.snapshot.done()
            entries = [] if first else ENTRY.findall(buffer, start + len(VERSIONS), end)
            result.snapshots.append(kind == b"s")
            result.versions.append(version)
            result.times.append(now)
            result.codes.append([code.decode() for code, _ in entries])
            result.hospital_versions.append([int(v) for _, v in entries])
            if not self.snapshot.done():
                self.snapshot.set_result(None)
            position = end
        # Keep only what may begin a frame not yet complete.
        start = buffer.find(START, position)
        self.buffer = buffer[start:] if start >= 0 else buffer[-len(START) :]


async def connect_one(
    host: str, port: int, target: str, gate: asyncio.Semaphore
) -> Subscriber | None:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            websocket = not target.startswith("/api/v1/live/events")
            _, subscriber = await loop.create_connection(
                lambda: Subscriber(f"{host}:{port}", target, websocket), host, port
            )
            await asyncio.wait_for(subscriber.snapshot, 20)
        except (OSError, ConnectionError, TimeoutError):
            return None
    return subscriber


def targets(url: str, count: int) -> list[tuple[str, int, str]]:
    """(host, port, path and query) of each of `count` subscribers."""
    urls = Path(url[1:]).read_text().split() if url.startswith("@") else [url]
    found = []
    for n in range(count):
        parts = urlsplit(urls[n % len(urls)])
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        found.append((parts.hostname or "127.0.0.1", parts.port or 80, target))
    return found


async def main(url: str, count: int) -> list[Received]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    made = await asyncio.gather(
        *(connect_one(host, port, target, gate) for host, port, target in targets(url, count))
    )
    subscribers = [s for s in made if s is not None]
    # What the subscribers record grows to millions of small lists over a run, and every full
    # collection walked them all: 25-45 ms of CPU in each subscriber process at once, seconds
    # on the shared core, reported as the server's latency. The hot path makes no cycles.
    gc.freeze()
    gc.disable()
    print(f"ready {len(subscribers)} {count - len(subscribers)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    results = [s.result for s in subscribers]
    for subscriber in subscribers:
        subscriber.stopping = True
        if subscriber.transport is not None:
            subscriber.transport.abort()
    return results


def run(url: str, count: int) -> list[Received]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 256)), hard))
    try:
        import uvloop  # optional: a cheaper event loop for the clients
    except ImportError:
        return asyncio.run(main(url, count))
    return uvloop.run(main(url, count))


if __name__ == "__main__":
    received = run(sys.argv[1], int(sys.argv[2]))
    Path(sys.argv[3]).write_bytes(msgspec.msgpack.encode(received))
    print("done", flush=True)
