"""/docs is served from files shipped with the app (no CDN), and the pages a browser renders
carry a Content-Security-Policy that forbids inline code and other origins. The browser
checks (the page and the docs obey the policy) are in test_browser.py."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from api.docs import CSP

ROOT = Path(__file__).resolve().parents[1]
VENDORED = ROOT / "api" / "static" / "swagger-ui"


class _Refs(HTMLParser):
    """Every URL an HTML page makes the browser load, and the bodies of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in found
        for name in ("src", "href"):
            if found.get(name) and tag != "a":  # links are followed only when clicked
                self.urls.append(found[name] or "")
        if "style" in found:
            self.inline.append(f"style attribute on <{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


def test_docs_load_only_local_files(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    refs = _refs(page.text)
    assert set(refs.urls) == {
        "/static/swagger-ui/favicon-32x32.png",
        "/static/swagger-ui/swagger-ui.css",
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/docs.js",
    }
    assert refs.inline == []
    for url in refs.urls:
        asset = client.get(url)
        shipped = ROOT / "api" / "static" / url.removeprefix("/static/")
        assert asset.status_code == 200 and asset.content == shipped.read_bytes(), url
    start = client.get("/static/docs.js").text
    assert 'url: "/openapi.json"' in start and "validatorUrl: null" in start
    assert not re.search(r"https?://", start)
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/redoc").status_code == 404  # FastAPI's ReDoc page needs a CDN


def test_the_study_page_loads_only_local_files(client) -> None:
    refs = _refs(client.get("/").text)
    assert refs.urls and all(url.startswith("/static/") for url in refs.urls), refs.urls
    assert refs.inline == []


def test_pages_and_static_files_carry_the_policy(client) -> None:
    for path in ("/", "/docs", "/static/docs.js", "/static/swagger-ui/swagger-ui.css"):
        assert client.get(path).headers["content-security-policy"] == CSP, path
    # The JSON API is not rendered by browsers: its requests skip the middleware.
    assert "content-security-policy" not in client.get("/health").headers
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP


def test_the_vendored_swagger_ui_is_the_recorded_release() -> None:
    """VERSION.txt names the npm release and the checksum of every copied file; the files
    are the release's, unchanged (scripts/vendor-swagger-ui.sh writes both)."""
    record = (VENDORED / "VERSION.txt").read_text().splitlines()
    assert re.fullmatch(r"swagger-ui-dist \d+\.\d+\.\d+ \(npm\), Apache-2\.0: .*", record[0])
    sums = dict(reversed(line.split("  ")) for line in record[2:])
    assert set(sums) == {p.name for p in VENDORED.iterdir()} - {"VERSION.txt"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (VENDORED / "LICENSE").read_text()


# --- the written documentation ----------------------------------------------------------------


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    """The README is read in five minutes: the quick start, the curl walkthroughs, links.
    The reference (endpoints, limits, deployment, performance) lives in docs/."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    headings = re.findall(r"^## (.+)$", readme, flags=re.M)
    assert headings[:2] == ["Quick start", "With curl"] and headings[-1] == "Read on"
    assert "BASE=http://127.0.0.1:8000" in readme and "include_questions" in readme
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{doc.name})" in readme, f"the README does not link docs/{doc.name}"
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links {target}"


def test_the_api_page_lists_every_route(client) -> None:
    """docs/api.md stays accurate: every route of the OpenAPI description is in its table
    (path parameters written {id}; a sibling action may be listed as `/name` after its
    first form, as in `POST /cards/{id}/suspend` · `/unsuspend`)."""
    page = (ROOT / "docs" / "api.md").read_text()
    missing = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        spelled = re.sub(r"\{\w+_id\}", "{id}", path)
        parent, _, last = spelled.rpartition("/")
        for method in methods:
            listed = f"{method.upper()} {spelled}" in page
            sibling = f"{method.upper()} {parent}/" in page and f"`/{last}`" in page
            if not (listed or sibling):
                missing.append(f"{method.upper()} {path}")
    assert missing == [], "add a row to docs/api.md for each"
