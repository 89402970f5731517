"""FastAPI dependencies: the database, settings and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .db import Database
from .refusals import Unauthorized
from .security import hash_token, token_matches, well_formed
from .services.grade_events import GradeEvents
from .settings import Settings
from .store.users import user_by_token_hash
from .tables import User

__all__ = [
    "DbDep",
    "SettingsDep",
    "CurrentUser",
    "OptionalUser",
    "get_db",
    "GradeEventsDep",
]


async def get_db(request: Request) -> Database:
    """The app's database (``Database.run`` is the one way handlers reach it)."""
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_grade_events(request: Request) -> GradeEvents:
    """Where a copy's final-score changes are announced (``api.services.grade_events``)."""
    return request.app.state.grade_events


_bearer = HTTPBearer(auto_error=False, description="The token returned by POST /users.")


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user whose bearer token came with the request; 401 otherwise.

    Served from the app's user cache when it can be; only a cache miss goes to the
    database.
    """
    unauthorized = Unauthorized("missing or invalid bearer token")
    if credentials is None or not well_formed(credentials.credentials):
        raise unauthorized  # none, or not a token at all (too long, spaces, non-ASCII)
    token = credentials.credentials
    digest = hash_token(token)
    cache = request.app.state.user_cache
    user = cache.get(digest)
    if user is None:
        user = await request.app.state.db.run(user_by_token_hash, digest)
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


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
GradeEventsDep = Annotated[GradeEvents, Depends(get_grade_events)]
