"""GET /docs and its assets: public, strict CSP, relative URLs, exact bytes, allow-list only."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from chalicelib.errors import NotFound
from chalicelib.http import docs_page
from devstack.stack import LocalStack
from tests.support import Api, Reply

PROJECT_DIR = Path(__file__).resolve().parent.parent
ASSET_DIR = PROJECT_DIR / "chalicelib" / "http" / "swagger_ui"
# Written out rather than read from docs_page, so a wrong type there fails here.
EXPECTED_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
}
VENDORED = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
NOT_SERVED = [
    "nope.js",
    "README.md",  # in the folder, but not on the allow-list
    "LICENSE",
    "swagger-ui.css.map",
    "SWAGGER-UI.CSS",
    "swagger-ui.css.",
    "docs_page.py",
]
# One path segment each, so they reach the view; API Gateway decodes %2F, chalice local
# does not: either way the name is not on the allow-list.
TRAVERSALS = [
    "..%2Fapp.py",
    "..%2F..%2Fapp.py",
    "%2e%2e%2fdocs_page.py",
    "..%5Cdocs_page.py",
    "%2Fetc%2Fpasswd",
    "swagger-ui.css%00",
    "swagger-ui.css%2F..%2FREADME.md",
]


def assert_not_found(reply: Reply) -> None:
    assert reply.status == 404, reply
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {
        "error": {"code": "not_found", "message": "No such documentation asset."}
    }


class _PageParser(HTMLParser):
    """Collects the page's tags and attributes, and any text inside ``<script>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data


def parse_page(body: bytes) -> _PageParser:
    parser = _PageParser()
    parser.feed(body.decode("utf-8"))
    return parser


def page_urls(parser: _PageParser) -> list[str]:
    return [
        value
        for _, attrs in parser.tags
        for name, value in attrs.items()
        if name in ("src", "href", "data-openapi-url") and value
    ]


def test_docs_is_public_html_with_a_strict_content_security_policy(api: Api) -> None:
    reply = api.request("GET", "/docs")
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    directives = {
        directive.split()[0]: directive.split()[1:]
        for directive in reply.headers["Content-Security-Policy"].split(";")
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]  # verified in the browser test: no inline
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Cache-Control"] == "no-cache"
    assert b"Tasks API" in reply.body


def test_docs_has_no_inline_script_and_no_inline_handlers_or_styles(api: Api) -> None:
    page = parse_page(api.request("GET", "/docs").body)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert len(scripts) == 2
    assert all(attrs.get("src") for attrs in scripts)
    assert page.script_text.strip() == ""
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag


def test_every_url_in_the_page_is_relative_and_works_under_a_stage_prefix(api: Api) -> None:
    page = parse_page(api.request("GET", "/docs").body)
    urls = [url for url in page_urls(page) if not url.startswith("data:")]
    assert urls, "the page links nothing"
    for url in urls:
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, url
        assert not url.startswith("/"), url
    # Under API Gateway the page is /api/docs; under chalice local it is /docs.
    resolved = {urlsplit(urljoin("https://x.example/api/docs", url)).path for url in urls}
    assert resolved == {
        "/api/openapi.json",
        "/api/docs/swagger-ui.css",
        "/api/docs/swagger-ui-bundle.js",
        "/api/docs/docs.js",
    }
    for url in urls:
        if url.startswith("docs/"):
            reply = api.request("GET", "/" + url)
            assert reply.status == 200, (url, reply)
            assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_each_asset_is_served_byte_for_byte_with_its_type(api: Api, name: str) -> None:
    reply = api.request("GET", f"/docs/{name}")
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == EXPECTED_TYPES[name]
    assert reply.body == (ASSET_DIR / name).read_bytes()
    digest = hashlib.sha256(reply.body).hexdigest()[:16]
    assert reply.headers["ETag"] == f'"{digest}"'
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    # Without the current version in the URL, caches must revalidate.
    assert reply.headers["Cache-Control"] == "no-cache"
    stale = api.request("GET", f"/docs/{name}?v=0000000000000000")
    assert stale.headers["Cache-Control"] == "no-cache"
    assert stale.body == reply.body


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_a_current_copy_is_revalidated_with_a_304(api: Api, name: str) -> None:
    etag = api.request("GET", f"/docs/{name}").headers["ETag"]
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        reply = api.request("GET", f"/docs/{name}", headers={"If-None-Match": if_none_match})
        assert reply.status == 304, (if_none_match, reply)
        assert reply.body == b""
        assert reply.headers["ETag"] == etag
    changed = api.request("GET", f"/docs/{name}", headers={"If-None-Match": '"other"'})
    assert changed.status == 200


@pytest.mark.parametrize("name", NOT_SERVED + TRAVERSALS)
def test_anything_off_the_allow_list_is_a_contract_404(api: Api, name: str) -> None:
    assert_not_found(api.request("GET", f"/docs/{name}"))


@pytest.mark.parametrize(
    "name",
    ["../app.py", "../../app.py", "/etc/passwd", "swagger_ui/docs.js", "docs.js\x00", "", "."],
)
def test_decoded_traversal_names_are_refused(name: str) -> None:
    """What API Gateway would pass after decoding %2F: the allow-list still refuses it."""
    with pytest.raises(NotFound):
        docs_page.asset(name)


@pytest.mark.e2e
def test_raw_dot_segments_never_reach_a_file(local_stack: LocalStack) -> None:
    """Paths sent as written (HTTP clients would normalise the dots away first)."""
    for path in ("/docs/..", "/docs/.", "/docs/../app.py", "/docs/swagger_ui/../docs_page.py"):
        status, _, body = _raw_get(local_stack, path)
        if status == 404:
            assert json.loads(body)["error"]["code"] == "not_found", path
        else:  # more than one segment after /docs: no route, the gateway's own 403
            assert status == 403, (path, status)
        assert b"import" not in body and b"Swagger" not in body, path


def test_docs_with_a_trailing_slash_redirects_relatively(inprocess_api: Api) -> None:
    """Under /docs/ the page's relative URLs would miss; send the browser to ../docs."""
    reply = inprocess_api.request("GET", "/docs/")
    assert reply.status == 301, reply
    assert reply.headers["Location"] == "../docs"
    assert urljoin("https://x.example/api/docs/", "../docs") == "https://x.example/api/docs"


@pytest.mark.e2e
def test_docs_with_a_trailing_slash_redirects_over_http(local_stack: LocalStack) -> None:
    status, headers, _ = _raw_get(local_stack, "/docs/")
    assert (status, headers["Location"]) == (301, "../docs")


def _raw_get(stack: LocalStack, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_docs_answers_with_cors_like_the_other_public_routes(api: Api) -> None:
    health = api.request("GET", "/health")
    for path in ("/docs", "/docs/docs.js", "/docs/nope.js"):
        reply = api.request("GET", path)
        cors = {name for name in reply.headers if name.lower().startswith("access-control-")}
        assert cors == {
            name for name in health.headers if name.lower().startswith("access-control-")
        }
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        for name in cors:
            assert reply.headers[name] == health.headers[name], (path, name)
    # Not HEAD: chalice local answers it with a 405 *and a body*, which breaks the
    # keep-alive connection it was sent on (a local-only artefact; see README).


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    readme = (ASSET_DIR / "README.md").read_text()
    for name in VENDORED:
        digest = hashlib.sha256((ASSET_DIR / name).read_bytes()).hexdigest()
        assert f"`{name}`" in readme and f"`{digest}`" in readme, f"update README for {name}"
    bundle = (ASSET_DIR / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', bundle)
    assert version is not None
    assert int(version.group(1)) >= 5, "OpenAPI 3.1 needs Swagger UI 5 or later"
    assert f"**{'.'.join(version.groups())}**" in readme


def test_only_the_needed_files_are_vendored_and_each_fits_a_lambda_response() -> None:
    files = {path.name for path in ASSET_DIR.iterdir() if path.name != "__pycache__"}
    assert files == {*EXPECTED_TYPES, "LICENSE", "README.md"}
    for name in EXPECTED_TYPES:
        # API Gateway's Lambda proxy carries the body JSON-encoded in a 6 MB response.
        encoded = json.dumps({"body": (ASSET_DIR / name).read_text(encoding="utf-8")})
        assert len(encoded.encode()) < LAMBDA_RESPONSE_LIMIT // 2, name


def test_importing_the_app_reads_no_asset() -> None:
    """Cold starts of other routes pay nothing: the module is imported, and the files read,
    on first use only (and once per container)."""
    script = """
import sys
opened = []
sys.addaudithook(
    lambda event, args: opened.append(str(args[0]))
    if event == "open" and "swagger_ui" in str(args[0]) else None
)
import app
assert "chalicelib.http.docs_page" not in sys.modules
from chalicelib.http import docs_page
assert opened == [], opened
docs_page.page_html()
assert len(opened) == 3, opened
docs_page.page_html()
docs_page.asset("docs.js")
assert len(opened) == 3, opened
"""
    env = {"PATH": "/usr/bin:/bin", "STAGE": "local", "PYTHONPATH": str(PROJECT_DIR)}
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_page_starter_keeps_tokens_out_of_storage() -> None:
    starter = (ASSET_DIR / "docs.js").read_text()
    assert "persistAuthorization: false" in starter
    assert "validatorUrl: null" in starter  # no third-party request from the page
    assert "http://" not in starter and "https://" not in starter
