"""`python -m bedsvc.live --host H --port P`: one live process, as `bedsvc serve` starts it."""

from __future__ import annotations

import argparse

import uvloop

from bedsvc.live.process import run_live
from bedsvc.runtime.logs import configure_logging
from bedsvc.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bedsvc.live")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.server.log_level, settings.server.log_json)
    # uvloop, as the HTTP workers: cheaper per socket write.
    uvloop.run(run_live(settings, args.host, args.port))


if __name__ == "__main__":
    main()
