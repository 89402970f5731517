"""FastAPI dependencies: the database session, settings, the scheduler and the current user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from .scheduler import FSRS
from .security import hash_token, token_matches
from .settings import Settings
from .tables import User

__all__ = [
    "SessionDep",
    "SettingsDep",
    "SchedulerDep",
    "CurrentUser",
    "OptionalUser",
    "get_session",
]


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request, closed afterwards; handlers commit explicitly."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_scheduler(request: Request) -> FSRS:
    """The app's FSRS scheduler."""
    return request.app.state.fsrs


_bearer = HTTPBearer(auto_error=False, description="The token returned by POST /users.")


def get_current_user(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user whose bearer token came with the request; 401 otherwise."""
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
        user = session.exec(select(User).where(User.token_hash == digest)).first()
        if user is None:
            raise unauthorized
        cache.put(digest, user)
    if not token_matches(token, user.token_hash):
        raise unauthorized
    return user


def get_optional_user(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> User | None:
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
    return get_current_user(request, session, credentials)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SchedulerDep = Annotated[FSRS, Depends(get_scheduler)]
CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
