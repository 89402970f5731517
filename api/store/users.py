"""Users: created with a token hash, looked up by it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from ..db import utcnow, writing
from ..security import hash_token, new_token
from ..tables import User, UserToken

__all__ = ["NewUser", "add_user", "create_user", "user_by_token_hash"]


@dataclass(frozen=True)
class NewUser:
    """A user just created, with the token: the only time it exists in clear."""

    id: int
    name: str
    created_at: datetime
    token: str


def add_user(session: Session, name: str, token_hash: str) -> User:
    """Store a new user; the caller made the token and hashed it."""
    with writing(session):
        user = User(name=name, token_hash=token_hash)
        session.add(user)
        session.commit()
    return user


def user_by_token_hash(session: Session, digest: str) -> User | None:
    """The user with this token hash, detached (the session's objects never expire).

    Besides the account's own token, a user may hold unexpired further tokens (an LTI
    launch's session, ``user_token``): such a token yields a detached copy of the user that
    carries that token's hash, so the caller's constant-time check holds for it too."""
    user = session.exec(select(User).where(User.token_hash == digest)).first()
    if user is None:
        query = (
            select(User, UserToken.expires_at)
            .join(UserToken, col(UserToken.user_id) == User.id)
            .where(UserToken.token_hash == digest, UserToken.expires_at > utcnow())
        )
        row = session.exec(query).first()
        if row is not None:
            found = row[0]
            user = User(id=found.id, name=found.name, token_hash=digest,
                        created_at=found.created_at)  # fmt: skip
    session.commit()
    return user


def create_user(session: Session, name: str) -> NewUser:
    """Create a user with a fresh token; the token is returned only here, never stored."""
    token = new_token()
    user = add_user(session, name.strip(), hash_token(token))
    assert user.id is not None
    return NewUser(id=user.id, name=user.name, created_at=user.created_at, token=token)
