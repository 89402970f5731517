"""The ``flopcards`` command: serve, check the notes, create users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from content import load_directory

app = typer.Typer(help="flopcards: study efficient CNN architectures.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: FLOPCARDS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: FLOPCARDS_PORT or 8000")] = None,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    from .main import create_app
    from .settings import Settings

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command("check-notes")
def check_notes(
    directory: Annotated[Path | None, typer.Argument(help="Default: FLOPCARDS_CONTENT_DIR")] = None,
) -> None:
    """Parse every note and list every problem; exit 1 when there is any."""
    from .settings import Settings

    root = directory or Settings().content_dir
    loaded = load_directory(root)
    for err in loaded.errors:
        typer.echo(str(err), err=True)
    files = len(list(Path(root).glob("*.md")))
    typer.echo(
        f"{files} notes, {len(loaded.topics)} topics, {len(loaded.cards)} cards, "
        f"{sum(len(c.examples) for c, _ in loaded.cards)} examples, {len(loaded.errors)} problems"
    )
    if loaded.errors or files == 0:
        raise typer.Exit(1)


@app.command("create-user")
def create_user(name: Annotated[str, typer.Argument(help="Display name")]) -> None:
    """Create a user (even when registration is closed) and print its token once."""
    from sqlmodel import Session

    from .db import init_db, make_engine
    from .routers.users import create_user as make_user
    from .settings import Settings

    settings = Settings()
    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    init_db(engine)
    with Session(engine, expire_on_commit=False) as session:
        created = make_user(session, name)
    typer.echo(f"user {created.id} ({created.name}) token: {created.token}")


if __name__ == "__main__":
    app()
