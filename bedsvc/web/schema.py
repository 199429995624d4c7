"""`/schema`: the API reference, drawn by Scalar from the copy inside the package.

The reference page shares the origin of the staff's session cookie, so it loads nothing from
another host: Scalar's script and style are served from bedsvc/web/static/vendor at a pinned
version (see the LICENSE file there), configured by an attribute instead of an inline
script, under the Content-Security-Policy of every other page. It works offline.
"""

from __future__ import annotations

import html
import json
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import ScalarRenderPlugin

from bedsvc.web.routes import PAGE_HEADERS, asset_url

SCALAR = "vendor/scalar-api-reference"
# Read by Scalar from the element it draws into (no inline script needed): no fonts from its
# host, none of its hosted services (AI agent, SDK generator, telemetry).
CONFIGURATION = html.escape(
    json.dumps(
        {
            "withDefaultFonts": False,
            "hideClientButton": True,
            "showDeveloperTools": "never",
            "agent": {"disabled": True},
            "telemetry": False,
        }
    )
)


class ApiReference(ScalarRenderPlugin):
    def __init__(self, versions: dict[str, str]) -> None:
        super().__init__(
            js_url=asset_url(f"{SCALAR}/standalone.js", versions),
            css_url=asset_url(f"{SCALAR}/style.css", versions),
            favicon=f'<link rel="icon" href="{asset_url("favicon.svg", versions)}">',
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = openapi_schema["info"]["title"]
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
{self.favicon}
<link rel="stylesheet" href="{self.css_url}">
</head>
<body>
<noscript>The API reference needs JavaScript; the document itself is at openapi.json.</noscript>
<div id="api-reference" data-url="{self.get_openapi_json_route(request)}"
     data-configuration="{CONFIGURATION}"></div>
<script src="{self.js_url}"></script>
</body>
</html>
""".encode()


def schema_router() -> Router:
    """The router Litestar serves the reference and the OpenAPI document on, with the pages'
    security headers."""
    return Router(
        "/schema", route_handlers=[], include_in_schema=False, response_headers=PAGE_HEADERS
    )
