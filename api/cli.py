"""The ``flopcards`` command: serve, check the notes, create users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from content import load_directory
from content.runner import ExampleCache, outputs_match

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

app = typer.Typer(help="flopcards: study efficient CNN architectures.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: FLOPCARDS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: FLOPCARDS_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Server processes")] = 1,
    wait_for_database: Annotated[
        float,
        typer.Option(min=0, max=600, help="Seconds to wait for a database server to answer"),
    ] = 0,
) -> None:
    """Serve the API with uvicorn (several worker processes share one database)."""
    import uvicorn

    from .main import create_app
    from .settings import Settings

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    _wait_for_database(settings.database_url, wait_for_database)
    if workers > 1:
        # Each worker builds its own app from the same FLOPCARDS_* environment.
        uvicorn.run(
            "api.main:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="info",
            proxy_headers=False,
        )
        return
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (or
    # FORWARDED_ALLOW_IPS), so any local client could pick its own address for the rate
    # limits. The app reads the header itself, from FLOPCARDS_FORWARDED_ALLOW_IPS only.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,
    )


def _wait_for_database(url: str, seconds: float) -> None:
    """Before serving, make sure a database server answers (SQLite files need no check): a
    wrong host or a server that is not running ends here with one clear line, not with a
    traceback from the middle of start-up."""
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    engine = create_engine(parsed, pool_pre_ping=False)
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                if time.monotonic() >= deadline:
                    typer.echo(_no_database(parsed, reason), err=True)
                    raise typer.Exit(2) from None
                typer.echo(f"waiting for the database at {parsed.host}: {reason}", err=True)
                time.sleep(2)
    finally:
        engine.dispose()


def _no_database(url: URL, reason: str) -> str:
    lines = [f"flopcards: cannot reach the database {url.render_as_string()}: {reason}"]
    if url.host == "postgres":  # the compose file's service name
        lines.append(
            "With docker compose, the postgres service runs only in its profile: put "
            "COMPOSE_PROFILES=postgres in .env (or use --profile postgres); see the README."
        )
    return "\n".join(lines)


@app.command("check-notes")
def check_notes(
    directory: Annotated[Path | None, typer.Argument(help="Default: FLOPCARDS_CONTENT_DIR")] = None,
    run: Annotated[bool, typer.Option(help="Run the examples and compare their output")] = True,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Cache of example runs (default: FLOPCARDS_EXAMPLE_CACHE_DIR)"),
    ] = None,
) -> None:
    """Check every note (front matter, cards, ids, examples); exit 1 on any problem."""
    from .settings import Settings

    settings = Settings()
    root = directory or settings.content_dir
    loaded = load_directory(root)
    problems = [str(err) for err in loaded.errors]
    examples = [(card, file, ex) for card, file in loaded.cards for ex in card.examples]
    if run and examples:
        problems += _run_examples(
            examples,
            ExampleCache(cache_dir or settings.example_cache_dir),
            settings.example_timeout_s,
        )
    for problem in problems:
        typer.echo(problem, err=True)
    files = len(list(Path(root).glob("*.md")))
    typer.echo(
        f"{files} notes, {len(loaded.topics)} topics, {len(loaded.cards)} cards, "
        f"{len(examples)} examples, {len(problems)} problems"
    )
    if problems or files == 0:
        raise typer.Exit(1)


def _run_examples(examples: list, cache: ExampleCache, timeout_s: float) -> list[str]:
    """Run examples two at a time; describe each one whose output drifted. A cold run takes
    a while (each example is a fresh Python process importing torch), so every finished
    example prints a progress line on stderr."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    def check(item: tuple) -> tuple[str, str | None]:
        card, file, ex = item
        result, cached = cache.run(ex.code, timeout_s)
        where = f"{Path(file).name}:{ex.line} {card.id}"
        how = "cached" if cached else f"{result.duration_ms / 1000:.1f} s"
        if result.succeeded and outputs_match(result.output, ex.expected_output):
            return f"{where}: ok ({how})", None
        why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        if result.succeeded:
            why = "output differs from its expected block"
        return f"{where}: FAILED, {why} ({how})", (
            f"{file}:{ex.line}: example of card '{card.id}' {why}\n"
            f"--- expected\n{ex.expected_output}\n--- got\n{result.output.rstrip()}"
        )

    typer.echo(
        f"running {len(examples)} examples, two at a time (cached by code in {cache.directory})",
        err=True,
    )
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(check, item) for item in examples]
        for done, future in enumerate(as_completed(futures), start=1):
            line, problem = future.result()
            typer.echo(f"[{done}/{len(examples)}] {line}", err=True)
            if problem:
                problems.append(problem)
    return problems


# Commands that write to the server's database refuse a missing SQLite file unless asked.
CREATE_OPTION = typer.Option("--create", help="Create the SQLite database if it does not exist")


@app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="Display name")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"id", "name", "token"} as JSON')
    ] = False,
    token_only: Annotated[bool, typer.Option(help="Print the token alone")] = False,
    create: Annotated[bool, CREATE_OPTION] = False,
) -> None:
    """Create a user (even when registration is closed) and print its token once.

    The database is named on stderr (so that --token-only stays a bare token), and an SQLite
    file that does not exist is refused unless --create asks for one (``_database``)."""
    if as_json and token_only:
        raise typer.BadParameter("--json and --token-only exclude each other")
    from .store.users import create_user as make_user

    created = _database(create).call(make_user, name)
    if as_json:
        typer.echo(json.dumps({"id": created.id, "name": created.name, "token": created.token}))
    elif token_only:
        typer.echo(created.token)
    else:
        typer.echo(f"user {created.id} ({created.name}) token: {created.token}")


lti_app = typer.Typer(help="LTI 1.3: register LMS platforms, rotate the tool's key.")
app.add_typer(lti_app, name="lti")


def _database(create: bool):  # type: ignore[no-untyped-def]
    """The server's database, for a command that writes to it.

    It is FLOPCARDS_DATABASE_URL's, and a relative SQLite path is taken from the current
    directory: run from elsewhere, a command would silently create a second, empty database
    that the server never reads. So the database is named (on stderr), and an SQLite file
    that does not exist is refused (exit 2) unless ``create``."""
    from sqlalchemy.engine import make_url

    from .db import Database, make_engine
    from .migrate import upgrade
    from .settings import Settings

    settings = Settings()
    url = make_url(settings.database_url)
    where = url.render_as_string()  # the password hidden
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser().resolve()
        where = f"{path} (SQLite)"
        if not path.exists() and not create:
            typer.echo(
                f"flopcards: no database at {path}: FLOPCARDS_DATABASE_URL is "
                f"{settings.database_url!r}, and a relative path is taken from the current "
                "directory. Run this where the server runs (or set FLOPCARDS_DATABASE_URL), "
                "or pass --create to create a new database there.",
                err=True,
            )
            raise typer.Exit(2)
    typer.echo(f"database: {where}", err=True)
    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    upgrade(engine)
    return Database(engine)


@lti_app.command("add-platform")
def lti_add_platform(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss)")],
    client_id: Annotated[str, typer.Option(help="The client id the platform gave the tool")],
    deployment_id: Annotated[list[str], typer.Option(help="A deployment id (repeat for several)")],
    auth_login_url: Annotated[str, typer.Option(help="The platform's OIDC authorization URL")],
    token_url: Annotated[str, typer.Option(help="The platform's access token URL")],
    keyset_url: Annotated[str, typer.Option(help="The platform's public key set URL")],
    create: Annotated[bool, CREATE_OPTION] = False,
) -> None:
    """Register an LMS (or add deployments to one already registered) and print it."""
    from pydantic import ValidationError

    from .db import utcnow
    from .routers.lti import PlatformIn
    from .store.lti import add_platform

    try:
        body = PlatformIn(
            issuer=issuer, client_id=client_id, deployment_ids=deployment_id,
            auth_login_url=auth_login_url, token_url=token_url, keyset_url=keyset_url,
        )  # fmt: skip
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    fields = body.model_dump(include={"issuer", "client_id", "auth_login_url", "token_url",
                                      "keyset_url"})  # fmt: skip
    record, created = _database(create).call(add_platform, fields, body.deployments(), utcnow())
    verb = "registered" if created else "updated"
    typer.echo(f"platform {record.id} {verb}: {record.issuer} client {record.client_id}, "
               f"deployments {', '.join(record.deployments)}")  # fmt: skip


@lti_app.command("rotate-key")
def lti_rotate_key(create: Annotated[bool, CREATE_OPTION] = False) -> None:
    """Sign with a new key from now on; the old one stays in /lti/jwks for an hour, until
    every token it signed has expired."""
    from .db import utcnow
    from .store.lti import rotate_key

    key = _database(create).call(rotate_key, utcnow())
    typer.echo(f"new signing key {key.kid}")


if __name__ == "__main__":
    app()
