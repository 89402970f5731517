"""The API documentation at /docs, served from files shipped with the app, and the
Content-Security-Policy of everything a browser renders.

FastAPI's own /docs page loads Swagger UI from a CDN and starts it with an inline script, so a
self-hosted server could not document itself offline, and no policy could forbid inline code.
Here /docs is a static page (``static/docs.html``) that loads the vendored copy of
swagger-ui-dist (``static/swagger-ui/``, version and licence in its VERSION.txt) and a
small start-up file, all from this origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "ContentSecurityPolicy", "install_docs"]

STATIC_DIR = Path(__file__).parent / "static"

# Only this origin's files; no inline script or style, no eval, no plugins, no framing.
# `data:` images: Swagger UI's stylesheet draws its icons as data-URI SVGs.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def install_docs(app: FastAPI) -> None:
    """Serve /docs from the shipped files and put the policy on the pages and static files.
    The app must be created with ``docs_url=None`` and ``redoc_url=None`` (both use a CDN)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html")

    app.add_middleware(ContentSecurityPolicy)


def _rendered_by_browsers(path: str) -> bool:
    return path in ("/", "/docs") or path.startswith("/static/")


class ContentSecurityPolicy:
    """Adds the policy header to the study page, the docs and static files. A plain ASGI
    middleware: the JSON API's requests pass straight through and pay nothing for it."""

    def __init__(self, app: ASGIApp, policy: str = CSP) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _rendered_by_browsers(scope["path"]):
            await self.app(scope, receive, send)
            return

        policy = self.policy
        if scope["path"] == "/":
            # The study page runs inside the frames of the LMSs registered for LTI (and of
            # those FLOPCARDS_LTI_FRAME_ANCESTORS names); nowhere else.
            ancestors = getattr(scope["app"].state, "page_frame_ancestors", "")
            if ancestors:
                policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_policy)
