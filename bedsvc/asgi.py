"""Entry point for ASGI servers: each worker process builds its app from the environment."""

from __future__ import annotations

from litestar import Litestar

from bedsvc.app import create_app
from bedsvc.settings import load_settings


def app_from_env() -> Litestar:
    return create_app(load_settings(), stop_on_signal=True)
