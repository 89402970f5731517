"""Users: registration (token shown once) and who-am-I."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, status

from ..db import writing
from ..deps import CurrentUser, SessionDep, SettingsDep
from ..errors import ERROR_RESPONSES
from ..security import hash_token, new_token
from ..tables import User, UserCreate, UserCreated, UserPublic

router = APIRouter(prefix="/users", tags=["users"])


def _is_admin(request: Request, settings) -> bool:
    """True when the request carries the configured admin token (compared in constant time)."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.admin_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


def create_user(session, name: str) -> UserCreated:
    """Create a user with a fresh token and commit; the token is returned only here."""
    token = new_token()
    with writing(session):
        user = User(name=name.strip(), token_hash=hash_token(token))
        session.add(user)
        session.commit()
    session.refresh(user)
    assert user.id is not None
    return UserCreated(id=user.id, name=user.name, created_at=user.created_at, token=token)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserCreated,
    responses={403: ERROR_RESPONSES[404] | {"description": "Registration is closed"}},
)
def register(
    body: UserCreate, session: SessionDep, settings: SettingsDep, request: Request
) -> UserCreated:
    """Register a user; the answer carries the bearer token, shown this once only.

    When registration is closed, only a request bearing the admin token may register.
    """
    if not settings.open_registration and not _is_admin(request, settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registration is closed on this server")
    if not body.name.strip():
        raise HTTPException(422, "name must not be blank")
    return create_user(session, body.name)


@router.get("/me", response_model=UserPublic, responses={401: ERROR_RESPONSES[401]})
def me(user: CurrentUser) -> User:
    """The user the bearer token belongs to."""
    return user
