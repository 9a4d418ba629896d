"""GET /docs: interactive documentation (Swagger UI 5) of the API, served by the API itself.

Swagger UI's two files are vendored in ``chalicelib/http/swagger_ui/`` (where they came from and
how to update them: its README.md), so the page needs no CDN and no npm. Every URL in the page
is relative, so it works under an API Gateway stage prefix (``/api/docs``) as well as under
``chalice local`` (``/docs``). There is no inline script: ``docs.js`` starts Swagger UI, so
the Content-Security-Policy below can forbid inline scripts.

``app.py`` imports this module inside the two views, and the files are read on first use
and kept for the container's life: cold starts of the other routes pay for none of it.
"""

from __future__ import annotations

import functools
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from chalice import Response

from chalicelib.errors import NotFound

ASSET_DIR = Path(__file__).resolve().parent / "swagger_ui"
OPENAPI_URL = "openapi.json"  # relative to the page: /api/docs -> /api/openapi.json
ASSET_URL_PREFIX = "docs/"  # relative to the page: /api/docs -> /api/docs/<asset>

JAVASCRIPT = "text/javascript; charset=utf-8"  # RFC 9239: text/javascript, not application/...
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"

# The allow-list: the only names GET /docs/{asset} serves. Nothing else in the folder (or
# outside it) can be reached, whatever the path parameter holds.
ASSET_TYPES: dict[str, str] = {
    "swagger-ui-bundle.js": JAVASCRIPT,
    "swagger-ui.css": CSS,
    "docs.js": JAVASCRIPT,
}

# Nothing inline and nothing from anywhere but this API. Swagger UI 5 needs no 'unsafe-inline'
# for styles either: React sets styles through the CSSOM, which CSP does not govern; the
# browser test expands every operation and model and sees no violation. Images: its CSS
# draws icons as data: URIs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Type": HTML,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",  # the page names the assets' current versions
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# An asset URL carrying its current version (?v=<hash>) never changes content: cache it for
# a year. Without it, or with an old version, caches must revalidate (ETag, 304).
VERSIONED_CACHE_CONTROL = "public, max-age=31536000, immutable"
UNVERSIONED_CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Asset:
    """One allow-listed file: its text, its media type and a version derived from its bytes."""

    name: str
    body: str
    content_type: str
    version: str  # the first 16 hex digits of the SHA-256 of the file

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def url(self) -> str:
        """The page-relative URL that pins this version (so it may be cached for a year)."""
        return f"{ASSET_URL_PREFIX}{self.name}?v={self.version}"


def asset(name: str) -> Asset:
    """The allow-listed asset called ``name``; ``NotFound`` for any other name."""
    if name not in ASSET_TYPES:
        raise NotFound("No such documentation asset.")
    return _load(name)


@functools.cache
def _load(name: str) -> Asset:
    data = (ASSET_DIR / name).read_bytes()
    return Asset(
        name=name,
        body=data.decode("utf-8"),
        content_type=ASSET_TYPES[name],
        version=hashlib.sha256(data).hexdigest()[:16],
    )


@functools.cache
def page_html() -> str:
    """The HTML of /docs: Swagger UI's stylesheet and scripts, all by relative URL."""
    css = asset("swagger-ui.css")
    bundle = asset("swagger-ui-bundle.js")
    starter = asset("docs.js")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tasks API documentation</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{html.escape(css.url)}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(OPENAPI_URL)}"></div>
<script src="{html.escape(bundle.url)}"></script>
<script src="{html.escape(starter.url)}"></script>
</body>
</html>
"""


def page_response(request_path: str) -> Response:
    """The page; from ``/docs/`` a redirect to ``../docs``.

    API Gateway and ``chalice local`` route ``/docs/`` to this view too, but there the page's
    relative URLs would resolve under ``/docs/docs/``. The redirect is relative as well, so
    it holds under any stage prefix.
    """
    if request_path.endswith("/"):
        return Response(body="", status_code=301, headers={"Location": "../docs"})
    return Response(body=page_html(), status_code=200, headers=dict(PAGE_HEADERS))


def asset_response(name: str, requested_version: str | None, if_none_match: str | None) -> Response:
    """The asset, or ``304`` when the client's copy is current; ``NotFound`` if not allowed."""
    found = asset(name)
    cache_control = (
        VERSIONED_CACHE_CONTROL if requested_version == found.version else UNVERSIONED_CACHE_CONTROL
    )
    headers = {
        "ETag": found.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(if_none_match, found.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(
        body=found.body, status_code=200, headers={"Content-Type": found.content_type, **headers}
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of tags compared weakly (``W/`` ignored)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
