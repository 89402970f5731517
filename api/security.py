"""Bearer tokens: random, shown once, stored as SHA-256, compared in constant time.

A presented token is client text: it may hold any character a header can carry (Starlette
reads header bytes as Latin-1). ``well_formed`` is checked before anything else looks at it,
and secrets are compared as bytes, since ``hmac.compare_digest`` raises on a non-ASCII ``str``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

__all__ = [
    "new_token",
    "hash_token",
    "token_matches",
    "well_formed",
    "secret_matches",
    "MAX_TOKEN_CHARS",
    "UserCache",
]

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256
_TOKEN_RE = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN_CHARS}}}")  # printable ASCII, no space


def new_token() -> str:
    """A fresh token carrying 32 random bytes (43 URL-safe characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens are high-entropy, so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def well_formed(token: str) -> bool:
    """Whether a presented token could be one: 1 to 256 printable ASCII characters. Ours
    are 43 URL-safe characters; an admin token is the operator's, in the same alphabet."""
    return _TOKEN_RE.fullmatch(token) is not None


def secret_matches(presented: str, expected: str) -> bool:
    """Compare two secrets in constant time, as UTF-8 bytes: never raises, whatever text the
    client presented."""

    def raw(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass")

    return hmac.compare_digest(raw(presented), raw(expected))


class UserCache:
    """Recently authenticated users by token hash, so a request skips the user lookup.

    Users and their tokens never change once created, so an entry can only go stale by the
    user being deleted, which the service never does; entries still expire after ``ttl_s``.
    Cached rows are detached copies: handlers read ``id`` and ``name`` only.
    """

    def __init__(self, size: int = 4096, ttl_s: float = 300.0) -> None:
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._size, self._ttl = size, ttl_s
        self._lock = threading.Lock()

    def get(self, digest: str) -> Any | None:
        """The cached user for a token hash, if fresh."""
        with self._lock:
            hit = self._items.get(digest)
            if hit is None or hit[0] < time.monotonic():
                return None
            self._items.move_to_end(digest)
            return hit[1]

    def put(self, digest: str, user: Any) -> None:
        """Remember a user for a token hash."""
        with self._lock:
            self._items[digest] = (time.monotonic() + self._ttl, user)
            self._items.move_to_end(digest)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
