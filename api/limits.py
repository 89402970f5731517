"""How much work one client can make the server do, and the table of every limit.

Three mechanisms, each answering 429 with ``Retry-After`` and a JSON ``detail``:

- :class:`RateLimit`: a token bucket per key (a client address for public endpoints, a user
  id for imports). Memory is bounded: the least recently seen keys are forgotten first.
- :class:`Slots`: a cap on jobs of one kind running at once in the whole process. CPU-bound
  work runs in worker threads, and on a small machine two of them at once already leave the
  event loop waiting for the GIL; a full cap answers at once rather than queueing, so a
  burst cannot pile up threads behind it.
- :class:`ResultCache`: a small LRU of finished answers (encoded JSON), so repeating a heavy
  request costs nothing and is not counted against the client. It is the HTTP layer's own:
  the caches the question generator relies on (``models.profile_architecture``) never see a
  client's parameters, so no client can evict them.

:func:`limit_table` lists every user-supplied size the service bounds, where it is enforced
and its value under the given settings: the README's "Limits" section is checked against it.
"""

from __future__ import annotations

import gc
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from starlette.datastructures import State

from .db import Database, utcnow
from .refusals import TooMany
from .settings import Settings

__all__ = [
    "RateLimit",
    "Slots",
    "ResultCache",
    "Limiters",
    "limiters",
    "client_key",
    "run_profile",
    "Limit",
    "limit_table",
    "one_upload",
    "UPLOAD_LEASE_S",
]


T = TypeVar("T")


class RateLimit:
    """A token bucket per key: ``burst`` requests at once, then ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def wait_s(self, key: Hashable, now: float | None = None) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            granted = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if granted else tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        if granted:
            return 0.0
        return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    def refund(self, key: Hashable) -> None:
        """Give back the token a request took (it turned out not to count: a right code)."""
        with self._lock:
            found = self._buckets.get(key)
            if found is not None:
                self._buckets[key] = (min(float(self.burst), found[0] + 1.0), found[1])


class Slots:
    """At most ``size`` jobs of one kind at once; the next one is refused, not queued.

    Used only from the event loop (one thread), so a plain counter is enough.
    """

    def __init__(self, size: int, what: str, retry_after_s: float = 2.0) -> None:
        self.size = size
        self.what = what
        self.retry_after_s = retry_after_s
        self.busy = 0

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot for the block, or raise a 429 when every slot is taken."""
        if self.busy >= self.size:
            raise TooMany(f"{self.size} {self.what} already running", self.retry_after_s)
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1


class ResultCache:
    """The last ``size`` answers by key (immutable values, e.g. encoded JSON bytes)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The cached answer, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Remember an answer, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Limiters:
    """One app's limiters (``limiters(request)`` creates them on first use)."""

    profile_rate: RateLimit  # uncached profiles, per client address
    profile_slots: Slots  # uncached profiles at once
    profiles: ResultCache  # finished architecture profiles (HTTP requests only)
    import_rate: RateLimit  # note imports, per user
    import_slots: Slots  # note imports at once
    anki_slots: Slots  # Anki collections read at once
    join_user: RateLimit  # wrong join / invitation codes, per user
    join_address: RateLimit  # wrong join / invitation codes, per client address
    register: RateLimit  # accounts created (POST /users), per client address
    lti_login: RateLimit  # LTI logins (a state row each), per client address

    @classmethod
    def from_settings(cls, s: Settings) -> Limiters:
        return cls(
            profile_rate=RateLimit(s.profile_rate_per_minute, s.profile_burst),
            profile_slots=Slots(s.profile_concurrency, "uncached profiles"),
            # A profile and, once asked for, its encoded answer: two entries each.
            profiles=ResultCache(2 * s.profile_cache_entries),
            import_rate=RateLimit(s.import_rate_per_minute, s.import_burst),
            import_slots=Slots(s.import_concurrency, "note imports"),
            anki_slots=Slots(s.anki_concurrency, "Anki uploads"),
            join_user=RateLimit(s.join_failures_per_minute, s.join_failure_burst),
            join_address=RateLimit(
                s.join_address_failures_per_minute, s.join_address_failure_burst
            ),
            register=RateLimit(s.register_rate_per_minute, s.register_burst),
            lti_login=RateLimit(s.lti_login_rate_per_minute, s.lti_login_burst),
        )


def limiters(request: Request) -> Limiters:
    """The app's limiters, built from its settings the first time they are needed.

    Created lazily so the app factory needs no wiring; requests run on one event loop, so
    two first requests cannot both create them.
    """
    state: State = request.app.state
    found = getattr(state, "limiters", None)
    if found is None:
        found = state.limiters = Limiters.from_settings(state.settings)
    return found


async def run_profile(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run an uncached profile for a client: one of the app's profile slots, one token of
    the client's rate, then ``fn(*args)`` in a worker thread (429 when either is used up).

    The thread cannot be abandoned: the slot is held until it finishes, even if the client
    goes away, so a client cannot start more work than the slots allow by hanging up.
    """
    lim = limiters(request)
    async with lim.profile_slots.hold():
        wait = lim.profile_rate.wait_s(client_key(request))
        if wait:
            raise TooMany("too many uncached profiles from this address", wait)
        return await anyio.to_thread.run_sync(_with_models_loaded, fn, *args)


_models_loaded = threading.Lock()
_models_frozen = False


def _with_models_loaded(fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn`` once ``models`` (and torch) are imported, warm and exempt from collection.

    Importing torch and using the flop counter the first time leave millions of long-lived
    objects, and full collections over them took 0.3 to 1 s each, with the GIL held: every
    request waited (``/health`` took a second). So the import runs with the collector off,
    and ``gc.freeze`` then moves everything alive to the permanent generation, which later
    collections skip. The start-up warm-up does the same once it has run (``api.main``).
    """
    global _models_frozen
    if not _models_frozen:
        with _models_loaded:
            if not _models_frozen:
                enabled = gc.isenabled()
                gc.disable()
                try:
                    from models import warm_up  # torch and the registry: seconds, once

                    warm_up()  # the flop counter's first use imports much of torch's dispatch
                finally:
                    gc.freeze()
                    if enabled:
                        gc.enable()
                _models_frozen = True
    return fn(*args)


# How long an upload's lease lasts: far more than an upload may take (reading is bounded by
# ``api.services.anki.HISTORY_LIMITS.seconds``), so only a crashed process's lease ever expires.
UPLOAD_LEASE_S = 300.0


@asynccontextmanager
async def one_upload(db: Database, user_id: int, kind: str) -> AsyncIterator[None]:
    """Hold the user's upload lease of ``kind`` for the block: a second upload of the same
    user meanwhile, to this process or another, gets a 429 (the lease is a database row)."""
    from .store.uploads import end_lease, take_lease

    token = secrets.token_hex(16)
    now = utcnow()
    # Busy (a TooMany, 429) when another upload of the user's is running.
    await db.run(take_lease, user_id, kind, token, now, now + timedelta(seconds=UPLOAD_LEASE_S))
    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):  # a client that hangs up still frees it
            await db.run(end_lease, user_id, kind, token)


IPV6_CLIENT_PREFIX = 64  # the network one IPv6 subscriber is given, at the least


def client_key(request: Request) -> str:
    """The client a request came from, for the per-address limits: the peer of the
    connection, or, when the peer is a proxy named in ``FLOPCARDS_FORWARDED_ALLOW_IPS``, the
    client it forwarded for (uvicorn's proxy-headers middleware rewrites the peer; any other
    sender's ``X-Forwarded-For`` is ignored, since any client can write one).

    An IPv6 client is its /64: a home or a cloud machine gets at least that many addresses
    and can send each request from another one, so keyed by address it would never be
    limited. An IPv4 address written as IPv6 (``::ffff:a.b.c.d``) is that IPv4 address."""
    host = request.client.host if request.client is not None else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return host


@dataclass(frozen=True)
class Limit:
    """One bound on user-supplied input: what it bounds, its value, the setting that changes
    it (empty when fixed) and what a request over it gets."""

    what: str
    value: str
    setting: str
    answer: str


def _bound(model: Any, field: str) -> int:
    """The ``le`` or ``max_length`` a pydantic field declares (read, not restated here)."""
    for meta in model.model_fields[field].metadata:
        for attr in ("le", "max_length"):
            if getattr(meta, attr, None) is not None:
                return int(getattr(meta, attr))
    raise LookupError(f"{model.__name__}.{field} declares no upper bound")


def _learner_limits() -> list[Limit]:
    """The learner's controls: settings, tags, sessions of listed items, readiness, the
    history of attempts, FSRS fits and Anki review histories."""
    from .routers import attempts, progress, sessions
    from .routers import settings as prefs
    from .services.anki import HISTORY_LIMITS as h
    from .services.fsrs_fit import MAX_FIT_REVIEWS, MAX_PER_ITEM
    from .store.tags import MAX_CARD_TAGS, MAX_TAG_CHARS

    return [
        Limit("desired retention", f"{prefs.MIN_RETENTION:.2f} to {prefs.MAX_RETENTION:.2f}",
              "", "422"),
        Limit("new items a day", f"0 to {prefs.MAX_NEW_PER_DAY:,}", "", "422"),
        Limit("a card's own tags (editing your cards)",
              f"{MAX_CARD_TAGS} of {MAX_TAG_CHARS} characters, no spaces", "", "422"),
        Limit("study session: tags / listed items",
              f"{sessions.MAX_SESSION_TAGS} of 64 characters / {sessions.MAX_SESSION_ITEMS}",
              "", "422"),
        Limit("readiness: date / topics / items at risk",
              f"within {progress.MAX_READINESS_DAYS:,} days / {progress.MAX_READINESS_TOPICS}"
              f" / {progress.MAX_AT_RISK}", "", "422"),
        Limit("attempts per page", f"{attempts.MAX_ATTEMPTS_PAGE}", "", "422"),
        Limit("FSRS fit: answers read / fitted",
              f"the latest {prefs.MAX_HISTORY_ROWS:,} / {MAX_FIT_REVIEWS:,} (whole items, "
              f"their first {MAX_PER_ITEM} answers); one fit at a time per user", "", "409"),
        Limit("Anki review history: collection / notes / cards / answers",
              f"{h.collection_bytes:,} bytes uncompressed / {h.notes:,} / {h.cards:,} / "
              f"{h.reviews:,}", "", "422"),
        Limit("Anki review history: reading one file",
              f"{h.seconds:g} s and {h.query_steps:,} SQLite steps, values of at most "
              f"{h.value_bytes:,} bytes, {h.schema_objects:,} schema objects, no views, "
              "triggers, virtual tables, generated columns or computed defaults", "", "422"),
    ]  # fmt: skip


def limit_table(settings: Settings) -> list[Limit]:
    """Every limit, as the README's "Limits" section lists it (a test keeps them equal).

    Values are read from where each limit is enforced: the settings, ``content.NoteLimits``,
    ``models.spec`` and the request models, so this table cannot drift from the code.
    """
    from content import NOTE_LIMITS as n
    from models import spec

    from .routers.exams import ExamCreate
    from .routers.questions import GradeIn
    from .routers.sessions import SessionCreate
    from .services.lti import MAX_ID_TOKEN_CHARS, MAX_PARAM_CHARS
    from .services.lti_services import MAX_ROSTER_PAGES
    from .tables import UserBase

    s, env = settings, "FLOPCARDS_"
    return [
        Limit("request body", f"{s.max_body_bytes:,} bytes", f"{env}MAX_BODY_BYTES", "413"),
        Limit("note import", f"{s.max_note_bytes:,} bytes", f"{env}MAX_NOTE_BYTES", "413"),
        Limit("cards per import", f"{s.max_import_cards:,}", f"{env}MAX_IMPORT_CARDS", "422"),
        Limit("note front matter", f"{n.front_matter_bytes:,} bytes", "", "note error"),
        Limit("front matter nesting", f"{n.yaml_depth} levels, no aliases", "", "note error"),
        Limit("tags per note (a card carries its note's)", f"{n.tags}", "", "note error"),
        Limit("tag", f"{n.tag_chars} characters, one line", "", "note error"),
        Limit("note title", f"{n.title_chars} characters", "", "note error"),
        Limit(
            "card question / answer",
            f"{n.front_chars:,} / {n.back_chars:,} characters",
            "",
            "card error",
        ),
        Limit(
            "examples per card",
            f"{n.examples_per_card}, each at most {n.example_chars:,} characters",
            "",
            "card error",
        ),
        Limit(
            "errors listed per import",
            f"the first {s.max_import_errors}, and the total",
            f"{env}MAX_IMPORT_ERRORS",
            "—",
        ),
        Limit(
            "imported cards per user (retired ones count)",
            f"{s.user_max_cards:,}",
            f"{env}USER_MAX_CARDS",
            "413",
        ),
        Limit(
            "imported text per user (UTF-8)",
            f"{s.user_max_bytes:,} bytes",
            f"{env}USER_MAX_BYTES",
            "413",
        ),
        Limit(
            "note imports",
            f"{s.import_rate_per_minute:g} a minute per user (bursts of {s.import_burst}), "
            f"one at a time per user, {s.import_concurrency} at once",
            f"{env}IMPORT_RATE_PER_MINUTE, {env}IMPORT_BURST, {env}IMPORT_CONCURRENCY",
            "429",
        ),
        Limit(
            "Anki review-history uploads",
            f"one at a time per user (across processes), {s.anki_concurrency} at once per process",
            f"{env}ANKI_CONCURRENCY",
            "429",
        ),
        Limit(
            "wrong join or invitation codes",
            f"{s.join_failure_burst} then {s.join_failures_per_minute:g} a minute per user; "
            f"{s.join_address_failure_burst} then {s.join_address_failures_per_minute:g} a "
            "minute per client address",
            f"{env}JOIN_FAILURE_BURST, {env}JOIN_FAILURES_PER_MINUTE, "
            f"{env}JOIN_ADDRESS_FAILURE_BURST, {env}JOIN_ADDRESS_FAILURES_PER_MINUTE",
            "429",
        ),
        Limit(
            "registrations (POST /users without the admin token)",
            f"{s.register_burst} then {s.register_rate_per_minute:g} a minute per client address",
            f"{env}REGISTER_BURST, {env}REGISTER_RATE_PER_MINUTE",
            "429",
        ),
        Limit(
            "LTI logins (GET or POST /lti/login)",
            f"{s.lti_login_burst} then {s.lti_login_rate_per_minute:g} a minute per client address",
            f"{env}LTI_LOGIN_BURST, {env}LTI_LOGIN_RATE_PER_MINUTE",
            "429",
        ),
        Limit("profile: layers", f"{spec.MAX_LAYERS}", "", "422"),
        Limit(
            "profile: torch modules built (a block counts its own)",
            f"{spec.MAX_MODULES:,}",
            "",
            "422",
        ),
        Limit("profile: channels or features", f"{spec.MAX_CHANNELS:,}", "", "422"),
        Limit("profile: input side, and every feature map's", f"{spec.MAX_SIDE:,}", "", "422"),
        Limit("profile: batch", f"{spec.MAX_BATCH:,}", "", "422"),
        Limit(
            "profile: MACs in all, batch included",
            f"10^{len(str(spec.MAX_TOTAL_MACS)) - 1}",
            "",
            "422",
        ),
        Limit(
            "profile: elements of one layer's output, batch included",
            f"2^{spec.MAX_ELEMENTS.bit_length() - 1}",
            "",
            "422",
        ),
        Limit("profile: any integer field", f"{spec.MAX_INT:,}", "", "422"),
        Limit(
            "uncached profiles (POST /profile; architecture profiles not yet computed)",
            f"{s.profile_rate_per_minute:g} a minute per client address (bursts of "
            f"{s.profile_burst}), {s.profile_concurrency} at once",
            f"{env}PROFILE_RATE_PER_MINUTE, {env}PROFILE_BURST, {env}PROFILE_CONCURRENCY",
            "429",
        ),
        Limit(
            "architecture profiles kept for HTTP clients",
            f"{s.profile_cache_entries}",
            f"{env}PROFILE_CACHE_ENTRIES",
            "—",
        ),
        Limit("exam questions", f"{_bound(ExamCreate, 'count')}", "", "422"),
        Limit("study session size", f"{_bound(SessionCreate, 'size')}", "", "422"),
        *_learner_limits(),
        Limit("answer text", f"{_bound(GradeIn, 'answer')} characters", "", "422"),
        Limit("user name", f"{_bound(UserBase, 'name')} characters", "", "422"),
        Limit("bearer token", "256 printable ASCII characters", "", "401"),
        Limit("LTI launch: id_token", f"{MAX_ID_TOKEN_CHARS:,} characters", "", "422"),
        Limit("LTI login: each parameter", f"{MAX_PARAM_CHARS:,} characters", "", "400"),
        Limit(
            "LTI roster sync: members read from the LMS",
            f"{s.lti_roster_max_members:,}, in at most {MAX_ROSTER_PAGES} pages",
            f"{env}LTI_ROSTER_MAX_MEMBERS",
            "502",
        ),
    ]
