"""Users: registration (token shown once) and who-am-I."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Request, status

from ..deps import CurrentUser, DbDep, SettingsDep
from ..limits import client_key, limiters
from ..refusals import (
    Blank,
    MalformedToken,
    RegistrationClosed,
    TooMany,
    Unauthorized,
    refusals,
)
from ..security import secret_matches, well_formed
from ..settings import Settings
from ..store.users import create_user
from ..tables import User, UserBase

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(UserBase):
    """Body of ``POST /users`` (the name's bounds are the table's, ``UserBase``)."""


class UserPublic(UserBase):
    """A user as shown to others and to themself."""

    id: int
    created_at: datetime


class UserCreated(UserPublic):
    """Answer of ``POST /users``: the only time the token is shown."""

    token: str


def _is_admin(request: Request, settings: Settings) -> bool:
    """True when the request carries the configured admin token (compared in constant time);
    a bearer token that cannot be one (non-ASCII, too long) is a 401."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    if not well_formed(token.strip()):
        raise MalformedToken("malformed bearer token")
    return secret_matches(token.strip(), settings.admin_token.get_secret_value())


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserCreated,
    responses=refusals(MalformedToken, RegistrationClosed, Blank, TooMany),
)
async def register(
    body: UserCreate, db: DbDep, settings: SettingsDep, request: Request
) -> UserCreated:
    """Register a user; the answer carries the bearer token, shown this once only.

    When registration is closed, only a request bearing the admin token may register.
    Registrations are rate-limited per client address (429; the admin token's are not):
    each account has its own per-user limits, so unbounded accounts would lift them all.
    """
    admin = _is_admin(request, settings)
    if not settings.open_registration and not admin:
        raise RegistrationClosed("registration is closed on this server")
    if not body.name.strip():
        raise Blank("name must not be blank")
    if not admin:
        wait = limiters(request).register.wait_s(client_key(request))
        if wait:
            raise TooMany("too many registrations from this address", wait)
    return UserCreated(**asdict(await db.run(create_user, body.name)))


@router.get("/me", response_model=UserPublic, responses=refusals(Unauthorized))
async def me(user: CurrentUser) -> User:
    """The user the bearer token belongs to."""
    return user
