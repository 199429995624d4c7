"""bedsvc built differently, only to measure what a part of it costs."""

from __future__ import annotations

from typing import Any
from unittest import mock

from litestar import Litestar

from bedsvc.app import create_app
from bedsvc.public.fastpath import FastPathApp
from bedsvc.settings import load_settings


class _WithoutMiddleware(FastPathApp):
    def __init__(self, **config: Any) -> None:
        super().__init__(**(config | {"middleware": []}))


def bedsvc_without_middleware() -> Litestar:
    """bedsvc without its rate limit and Prometheus middleware."""
    with mock.patch("bedsvc.app.FastPathApp", _WithoutMiddleware):
        return create_app(load_settings())
