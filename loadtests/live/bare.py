"""The bare `websockets` baseline: the same library and settings as bedsvc's live processes
(asyncio server, compression off), no bedsvc, broadcasting a frame of bedsvc's shape and size
to every connection when told.

Run by the fan-out runner as `python -m loadtests.live.bare PORT`: prints `ready`, then for
each `go` line on stdin broadcasts one frame and prints a JSON line (its version, the
monotonic time it started, and the seconds and CPU seconds `broadcast()` took); exits on EOF.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time

import msgspec
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

SNAPSHOT = '{"type":"snapshot","version":0,"hospitals":[],"versions":{}}'
PAD = "x" * 1000  # a frame of one hospital is about 1 KB


async def main(port: int) -> None:
    connections: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        connections.add(connection)
        try:
            await connection.send(SNAPSHOT)
            await connection.wait_closed()
        finally:
            connections.discard(connection)

    loop = asyncio.get_running_loop()
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=4):
        print("ready", flush=True)
        version = 0
        while await loop.run_in_executor(None, sys.stdin.readline):
            version += 1
            frame = (
                f'{{"type":"changes","version":{version},"hospitals":[{{"pad":"{PAD}"}}],'
                f'"removed":[],"versions":{{"bare":{version}}}}}'
            ).encode()
            started, cpu = time.monotonic(), time.process_time()
            broadcast(connections, frame, text=True)
            result = {
                "version": version,
                "at": started,
                "seconds": time.monotonic() - started,
                "cpu_seconds": time.process_time() - cpu,
                "connections": len(connections),
            }
            print(msgspec.json.encode(result).decode(), flush=True)


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(main(int(sys.argv[1])))
