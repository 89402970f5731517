"""Users: registration (token shown once) and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from ..deps import CurrentUser, DbDep, SettingsDep
from ..errors import ERROR_RESPONSES
from ..limits import TOO_MANY, client_key, limiters, too_many
from ..refusals import response
from ..security import secret_matches, well_formed
from ..settings import Settings
from ..store.users import create_user
from ..tables import User, UserCreate, UserCreated, UserPublic

router = APIRouter(prefix="/users", tags=["users"])


def _is_admin(request: Request, settings: Settings) -> bool:
    """True when the request carries the configured admin token (compared in constant time);
    a bearer token that cannot be one (non-ASCII, too long) is a 401."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    if not well_formed(token.strip()):
        raise HTTPException(401, "malformed bearer token", {"WWW-Authenticate": "Bearer"})
    return secret_matches(token.strip(), settings.admin_token.get_secret_value())


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserCreated,
    responses={403: response(403, "Registration is closed"), **TOO_MANY},
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
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registration is closed on this server")
    if not body.name.strip():
        raise HTTPException(422, "name must not be blank")
    if not admin:
        wait = limiters(request).register.wait_s(client_key(request))
        if wait:
            raise too_many("too many registrations from this address", wait)
    return await db.run(create_user, body.name)


@router.get("/me", response_model=UserPublic, responses={401: ERROR_RESPONSES[401]})
async def me(user: CurrentUser) -> User:
    """The user the bearer token belongs to."""
    return user
