"""Serves an ASGI app factory on one of the candidate servers, as `bedsvc serve` would.

python -m loadtests.serve --server granian|uvicorn --port 8000 module:factory
"""

from __future__ import annotations

import argparse

SERVERS = ("granian", "uvicorn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", help="ASGI app factory, module:function")
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.server == "granian":
        from bedsvc.runtime.server import serve_granian

        serve_granian(args.target, args.host, args.port, args.workers)
        return
    import uvicorn

    uvicorn.run(
        args.target,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
