"""The FastAPI application factory.

``create_app(settings)`` builds an app whose lifespan opens the database, creates missing
tables and syncs the notes into it. ``api.main:app`` is created on first access (module
``__getattr__``), so importing this module reads no settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from content import load_directory
from content.runner import ExampleCache

from . import __version__
from .db import Database, make_engine, startup_lock
from .docs import install_docs
from .errors import (
    GLOBAL_RESPONSES,
    BodySizeLimit,
    RejectNul,
    install_error_handlers,
    widen_validation_schema,
)
from .inputs import RejectUnencodable
from .migrate import upgrade
from .routers import (
    anki,
    architectures,
    attempts,
    cards,
    courses,
    exams,
    health,
    notes,
    progress,
    questions,
    sessions,
    topics,
    users,
)
from .routers import lti as lti_router
from .routers import settings as settings_router
from .security import UserCache
from .services.examples import ExampleRunner
from .services.exams import sweep_forever
from .services.fsrs_fit import FitRunner
from .services.grade_events import GradeEvents
from .services.lti import KeySets
from .services.lti_services import GradeOutbox, PlatformCalls, frame_ancestors_of, passback_listener
from .services.questions import fill_pools, mark_generation_warm
from .services.scheduler import FSRS, Schedulers
from .services.sync import sync_content
from .settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("flopcards")

STATIC_DIR = Path(__file__).parent / "static"  # the study page: plain files, no build step

DESCRIPTION = """Study efficient CNN architectures: flashcards from markdown notes, scheduled
with FSRS. Study and progress endpoints take `Authorization: Bearer <token>` (from `POST /users`).
Errors are JSON `{"detail": ...}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from ``FLOPCARDS_*`` variables unless given."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url,
            settings.sqlite_busy_timeout_ms,
            writer_lock=settings.sqlite_writer_lock,
            synchronous=settings.sqlite_synchronous,
        )
        loaded = load_directory(settings.content_dir)
        # Replicas starting together take turns: the first migrates and syncs, the others
        # then find the schema current and the notes unchanged.
        with startup_lock(engine):
            upgrade(engine)  # create or migrate the schema in place
            report = sync_content(engine, loaded)
        log.info(
            "notes synced: %d added, %d updated, %d retired, %d unchanged, %d errors",
            report.added,
            report.updated,
            report.retired,
            report.unchanged,
            len(report.errors),
        )
        app.state.engine = engine
        synced = engine.dialect.name == "sqlite" and settings.sqlite_synchronous == "FULL"
        app.state.db = Database(engine, synced_commits=synced)
        app.state.sync_report = report
        runner = ExampleRunner(
            engine, ExampleCache(settings.example_cache_dir), settings.example_timeout_s
        )
        app.state.example_runner = runner
        # LTI grades go back from a thread of their own, each call bounded by a timeout.
        calls = PlatformCalls(settings.lti_http_timeout_s)
        app.state.lti_calls = calls
        outbox = GradeOutbox(
            app.state.db,
            calls,
            interval_s=settings.lti_outbox_interval_s,
            retry_base_s=settings.lti_retry_base_s,
            retry_max_s=settings.lti_retry_max_s,
            lease_s=GradeOutbox.BATCH * 2 * settings.lti_http_timeout_s + 30,
            initial_delay_s=settings.background_delay_s,
            every_minute=lambda: setattr(
                app.state,
                "page_frame_ancestors",
                frame_ancestors_of(app.state.db, settings.lti_frame_ancestors),
            ),
        )
        app.state.lti_outbox = outbox
        app.state.page_frame_ancestors = frame_ancestors_of(
            app.state.db, settings.lti_frame_ancestors
        )
        app.state.grade_events.subscribe(passback_listener(outbox))
        outbox.start()
        # Background work starts once the server is up: importing torch and running examples
        # must not compete with start-up, so that /health answers within a second or two.
        if settings.run_examples:
            runner.start(delay_s=settings.background_delay_s)
        if settings.warm_up:
            # The flop counter's first use costs about a second; pay it off the request path.
            timer = threading.Timer(settings.background_delay_s, _warm_up)
            timer.daemon = True
            timer.start()
        sweeper = None
        if settings.deadline_sweep_s:
            sweeper = asyncio.create_task(
                sweep_forever(app.state.db, app.state.grade_events, settings.deadline_sweep_s)
            )
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
            runner.stop()
            outbox.stop()
            calls.close()
            app.state.fit_runner.close()
            engine.dispose()

    app = FastAPI(
        title="flopcards",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=GLOBAL_RESPONSES,
        docs_url=None,  # /docs comes from install_docs: shipped files, no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.fsrs = FSRS()  # the defaults, for tools and tests
    app.state.schedulers = Schedulers()  # each user's: their retention and parameters
    app.state.fit_runner = FitRunner()  # FSRS fits, in a process of their own
    app.state.fit_tasks = set()
    app.state.user_cache = UserCache()
    app.state.grade_events = GradeEvents()  # final-score changes (LTI passback subscribes)
    app.state.lti_keysets = KeySets(timeout_s=settings.lti_http_timeout_s)
    install_error_handlers(app)
    widen_validation_schema(app)
    # FastAPI tries routers in this order for every request: the study loop comes first.
    for module in (
        sessions,
        health,
        settings_router,
        users,
        topics,
        cards,
        notes,
        progress,
        anki,
        attempts,  # before questions: /questions/attempts is not a question id
        questions,
        architectures,
        exams,
        courses,
        lti_router,
    ):
        app.include_router(module.router)
    app.add_middleware(RejectUnencodable)  # inside BodySizeLimit: sees bounded bodies only
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RejectNul)
    if settings.forwarded_allow_ips:
        # Outermost: the client a trusted proxy forwarded for is the request's client for
        # everything inside (the per-address limits: api.limits.client_key). Nobody else's
        # X-Forwarded-For is read; `flopcards serve` switches uvicorn's own reading off.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # The browser page talks to the same REST API; it stays out of the OpenAPI schema.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    install_docs(app)

    return app


def _warm_up() -> None:
    """Import torch and pay the flop counter's first-use cost, off the request path.

    The collector is off meanwhile: importing torch and profiling every network leave
    millions of long-lived objects, and each full collection over them (0.3 to 1 s with the
    GIL held) would pause every request; ``gc.freeze`` then exempts them for good.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        from models import warm_up

        seconds = warm_up()
        log.info("flop counter warmed up in %.2f s", seconds)
        # Pay each question family's first-use cost (imports, cached block profiles)
        # before a student asks.
        from grader.registry import warm_caches
        from models import architecture_names, profile_architecture

        log.info("question families warmed: %d variants", warm_caches())
        # Architecture-level questions and exams read these profiles; cached from now on.
        for name in architecture_names():
            profile_architecture(name)
        mark_generation_warm()
        # Variant pools for new items (api.services.questions): drawn ahead, not on a step's path.
        log.info("variant pools filled: %d variants", fill_pools())
        gc.freeze()
    except Exception:  # warming is an optimisation; a failure must not stop the service
        log.exception("warm-up failed")
    finally:
        if enabled:
            gc.enable()


def __getattr__(name: str) -> Any:
    # `uvicorn api.main:app` looks the attribute up; build the app only then.
    if name == "app":
        return create_app()
    raise AttributeError(name)
