"""FastAPI dependencies: the database session, settings and the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from .security import hash_token, token_matches
from .settings import Settings
from .tables import User

__all__ = [
    "SessionDep",
    "SettingsDep",
    "CurrentUser",
    "OptionalUser",
    "get_session",
    "request_session",
]


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[Session]:
    """A database session for the length of a request's work, closed afterwards.

    Creating a session does no I/O (the connection is taken on the first query, in the
    thread that runs it). The busiest handlers open theirs with this directly rather than
    through ``SessionDep``: a generator dependency costs FastAPI an exit stack per request.
    """
    engine = request.app.state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            # Ending an open transaction talks to the server: off the event loop, and
            # shielded so a dropped client cannot skip it. (SQLite's rollback is a local,
            # microsecond call, and must not wait for a thread while the loop may need the
            # connection it returns; see api.db.run_db.)
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One database session per request, closed afterwards; handlers commit explicitly.

    An ``async`` dependency, so FastAPI spends no worker-thread hop on opening and closing.
    """
    async with request_session(request) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


_bearer = HTTPBearer(auto_error=False, description="The token returned by POST /users.")


def _lookup_user(engine: Engine, digest: str) -> User | None:
    """The user with this token hash, read in a short session of its own (detached after)."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(User).where(User.token_hash == digest)).first()


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user whose bearer token came with the request; 401 otherwise.

    Served from the app's user cache when it can be, on the event loop; only a cache miss
    goes to the database, in a worker thread.
    """
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or not credentials.credentials or len(credentials.credentials) > 256:
        raise unauthorized
    token = credentials.credentials
    digest = hash_token(token)
    cache = request.app.state.user_cache
    user = cache.get(digest)
    if user is None:
        user = await run_in_threadpool(_lookup_user, request.app.state.engine, digest)
        if user is None:
            raise unauthorized
        cache.put(digest, user)
    if not token_matches(token, user.token_hash):
        raise unauthorized
    return user


async def get_optional_user(request: Request) -> User | None:
    """The token's user when a token is sent (a bad one is still 401), else None.

    Read from the header by hand rather than through the security scheme, so the OpenAPI
    schema does not claim these public endpoints require a token.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
    if scheme.lower() != "bearer":
        credentials = HTTPAuthorizationCredentials(scheme="bearer", credentials="")
    return await get_current_user(request, credentials)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
