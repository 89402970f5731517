"""The ``flopcards`` command: serve, check the notes, create users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from content import load_directory
from content.runner import ExampleCache, outputs_match

app = typer.Typer(help="flopcards: study efficient CNN architectures.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: FLOPCARDS_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: FLOPCARDS_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Server processes")] = 1,
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
    if workers > 1:
        # Each worker builds its own app from the same FLOPCARDS_* environment.
        uvicorn.run(
            "api.main:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="info",
        )
        return
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


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
    """Run examples two at a time; describe each one whose output drifted."""
    from concurrent.futures import ThreadPoolExecutor

    def check(item: tuple) -> str | None:
        card, file, ex = item
        result, _cached = cache.run(ex.code, timeout_s)
        if result.succeeded and outputs_match(result.output, ex.expected_output):
            return None
        why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        if result.succeeded:
            why = "output differs from its expected block"
        return (
            f"{file}:{ex.line}: example of card '{card.id}' {why}\n"
            f"--- expected\n{ex.expected_output}\n--- got\n{result.output.rstrip()}"
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [p for p in pool.map(check, examples) if p]


@app.command("create-user")
def create_user(name: Annotated[str, typer.Argument(help="Display name")]) -> None:
    """Create a user (even when registration is closed) and print its token once."""
    from sqlmodel import Session

    from .db import make_engine
    from .migrate import upgrade
    from .routers.users import create_user as make_user
    from .settings import Settings

    settings = Settings()
    engine = make_engine(settings.database_url, settings.sqlite_busy_timeout_ms)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        created = make_user(session, name)
    typer.echo(f"user {created.id} ({created.name}) token: {created.token}")


if __name__ == "__main__":
    app()
