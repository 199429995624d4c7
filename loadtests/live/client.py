"""One subscriber process of the fan-out load test: many WebSocket connections, each recording
the version and arrival time of every message.

The subscribers speak just enough WebSocket by hand (handshake, unmasked server frames) on a
plain asyncio Protocol: a general client library costs several times more per message, and at
10,000 subscribers on one core the client, not the server, would be measured.

Server-Sent Events likewise: a plain HTTP/1.1 request, chunked transfer decoding, `data:` lines.

Run by the runner as `python -m loadtests.live.client URL COUNT OUT`; it prints `ready N F` once
its N subscribers hold their snapshots (F failed to connect), then waits for a line on stdin,
writes what each subscriber received to OUT (msgpack) and exits.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import msgspec

CONNECT_CONCURRENCY = 100


class Head(msgspec.Struct):
    type: str
    version: int = 0


_head = msgspec.json.Decoder(Head)


class Received(msgspec.Struct, array_like=True):
    """What one subscriber saw: the snapshot's version, then (version, monotonic time) of each
    delta or removal, and the close code if the server closed it."""

    snapshot: int
    versions: list[int]
    times: list[float]
    close_code: int | None = None


class Subscriber(asyncio.Protocol):
    """Records what arrives; subclasses speak the transport."""

    def __init__(self, host: str, target: str) -> None:
        self.request = self.request_for(host, target)
        self.buffer = bytearray()
        self.upgraded = False
        self.result = Received(snapshot=-1, versions=[], times=[])
        self.snapshot = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def request_for(self, host: str, target: str) -> bytes:
        raise NotImplementedError

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError("closed before the snapshot"))

    def headers_done(self, status: bytes) -> bool:
        """Strips the response head once complete; False until then or if refused."""
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        if not buffer.startswith(status):
            self.snapshot.set_exception(ConnectionError(bytes(buffer[:40]).decode()))
            return False
        del buffer[: end + 4]
        self.upgraded = True
        return True

    def message(self, payload: bytes, now: float) -> None:
        head = _head.decode(payload)
        if head.type == "snapshot":
            self.result.snapshot = head.version
            if not self.snapshot.done():
                self.snapshot.set_result(None)
        elif head.type in ("delta", "removed"):
            self.result.versions.append(head.version)
            self.result.times.append(now)


class SocketSubscriber(Subscriber):
    def request_for(self, host: str, target: str) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        return (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded and not self.headers_done(b"HTTP/1.1 101"):
            return
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            opcode = buffer[0] & 0x0F
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 1:
                self.message(payload, now)
            elif opcode == 8:
                self.result.close_code = int.from_bytes(payload[:2], "big") if payload else 1005


class EventSubscriber(Subscriber):
    """Server-Sent Events over HTTP/1.1 chunked transfer encoding."""

    def __init__(self, host: str, target: str) -> None:
        super().__init__(host, target)
        self.text = bytearray()

    def request_for(self, host: str, target: str) -> bytes:
        return (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded and not self.headers_done(b"HTTP/1.1 200"):
            return
        while (line_end := buffer.find(b"\r\n")) >= 0:
            size = int(buffer[:line_end], 16)
            if len(buffer) < line_end + 2 + size + 2:
                break
            self.text += buffer[line_end + 2 : line_end + 2 + size]
            del buffer[: line_end + 2 + size + 2]
        while (event_end := self.text.find(b"\n\n")) >= 0:
            event = bytes(self.text[:event_end])
            del self.text[: event_end + 2]
            for line in event.split(b"\n"):
                if line.startswith(b"data: "):
                    self.message(line[6:], now)


async def connect_one(
    host: str, port: int, target: str, gate: asyncio.Semaphore
) -> Subscriber | None:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            kind = EventSubscriber if target.startswith("/api/v1/live/events") else SocketSubscriber
            _, subscriber = await loop.create_connection(
                lambda: kind(f"{host}:{port}", target), host, port
            )
            await asyncio.wait_for(subscriber.snapshot, 20)
        except (OSError, ConnectionError, TimeoutError):
            return None
    return subscriber


async def main(url: str, count: int) -> list[Received]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    made = await asyncio.gather(*(connect_one(host, port, target, gate) for _ in range(count)))
    subscribers = [s for s in made if s is not None]
    print(f"ready {len(subscribers)} {count - len(subscribers)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    results = [s.result for s in subscribers]
    for subscriber in subscribers:
        if subscriber.transport is not None:
            subscriber.transport.abort()
    return results


def run(url: str, count: int) -> list[Received]:
    try:
        import uvloop  # optional: a cheaper event loop for the clients
    except ImportError:
        return asyncio.run(main(url, count))
    return uvloop.run(main(url, count))


if __name__ == "__main__":
    received = run(sys.argv[1], int(sys.argv[2]))
    Path(sys.argv[3]).write_bytes(msgspec.msgpack.encode(received))
    print("done", flush=True)
