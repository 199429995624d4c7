from __future__ import annotations

import hashlib
import html
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from bedsvc.live.discovery import live_origin, request_websocket_url
from bedsvc.settings import Settings

WEB_DIR = Path(str(resources.files("bedsvc.web")))
STATIC_DIR = WEB_DIR / "static"
PAGES_DIR = WEB_DIR / "pages"

# Everything the pages load comes from bedsvc; a live connection goes to the same origin, or
# to the live processes' (GET /api/v1/live) when they listen elsewhere; the map's tiles come
# from the tile server (BEDSVC_MAP_TILE_URL).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:{tiles}; connect-src {connect}; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(connect="'self'", tiles=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Files fetched by the browser itself (manifest, service worker): checked for a new release
# on every load, never cached for long.
_FILE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_PLACEHOLDER = re.compile(r"\{\{(asset|setting):([\w.\-/]+)\}\}")


@cache
def asset_versions() -> dict[str, str]:
    """A content hash per static file (by its path under static/): pages link `name?v=hash`,
    so the files themselves can be cached for a year and a new release is still fetched at
    once. Read once per process: the files change only with a release."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.rglob("*")
        if path.is_file()
    }


def asset_url(name: str, versions: dict[str, str]) -> str:
    return f"/static/{name}?v={versions[name]}"


def tile_source(template: str) -> str:
    """The CSP source of a Leaflet tile URL template: its scheme and host, `{s}` as `*`."""
    scheme, _, rest = template.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}"


def render_page(name: str, versions: dict[str, str], values: dict[str, str]) -> bytes:
    def fill(match: re.Match[str]) -> str:
        kind, key = match.groups()
        if kind == "asset":
            return asset_url(key, versions)
        return values[key]

    template = (PAGES_DIR / name).read_text(encoding="utf-8")
    return _PLACEHOLDER.sub(fill, template).encode()


def web_handlers(settings: Settings) -> list[Any]:
    versions = asset_versions()
    values = {
        "stale_after": str(settings.ingest.stale_after_seconds),
        # Attribute values: escaped here, read back by the map's script.
        "tile_url": html.escape(settings.public.map_tile_url),
        "tile_attribution": html.escape(settings.public.map_tile_attribution),
        "max_ward_capacity": str(settings.ingest.max_ward_capacity),
    }
    citizen = render_page("citizen.html", versions, values)
    map_page = render_page("peta.html", versions, values)
    map_policy = CONTENT_SECURITY_POLICY.format(
        connect="'self'", tiles=f" {tile_source(settings.public.map_tile_url)}"
    )
    dashboard = render_page("dashboard.html", versions, values)
    entry = render_page("rs.html", versions, values)
    board = render_page("papan.html", versions, values)
    manifest = render_page("manifest.webmanifest", versions, values)
    worker = render_page("sw.js", versions, values)

    @get("/", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def citizen_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        live = live_origin(request_websocket_url(request, settings.live))
        policy = CONTENT_SECURITY_POLICY.format(connect=f"'self' {live}", tiles="")
        headers = PAGE_HEADERS | {"Content-Security-Policy": policy}
        return Response(citizen, media_type=MediaType.HTML, headers=headers)

    @get("/peta", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def map_view() -> Response[bytes]:
        headers = PAGE_HEADERS | {"Content-Security-Policy": map_policy}
        return Response(map_page, media_type=MediaType.HTML, headers=headers)

    @get("/dashboard", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def dashboard_page() -> Response[bytes]:
        return Response(dashboard, media_type=MediaType.HTML, headers=PAGE_HEADERS)

    @get("/rs", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def entry_page() -> Response[bytes]:
        return Response(entry, media_type=MediaType.HTML, headers=PAGE_HEADERS)

    @get(
        "/papan/{hospital_code:str}",
        media_type=MediaType.HTML,
        include_in_schema=False,
        sync_to_thread=False,
    )
    def board_page() -> Response[bytes]:
        # The page reads the hospital from its own address: one document serves every board.
        return Response(board, media_type=MediaType.HTML, headers=PAGE_HEADERS)

    @get("/manifest.webmanifest", include_in_schema=False, sync_to_thread=False)
    def manifest_file() -> Response[bytes]:
        return Response(manifest, media_type="application/manifest+json", headers=_FILE_HEADERS)

    @get("/sw.js", include_in_schema=False, sync_to_thread=False)
    def service_worker() -> Response[bytes]:
        # At the root, so that it may serve the citizens' page "/" when offline.
        return Response(worker, media_type="text/javascript", headers=_FILE_HEADERS)

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
        include_in_schema=False,
        name="static",
    )
    return [
        citizen_page,
        map_view,
        dashboard_page,
        entry_page,
        board_page,
        manifest_file,
        service_worker,
        static,
    ]
