"""LTI Advantage services the tool calls: grades back (AGS) and the roster (NRPS).

Every call to a platform is blocking, bounded by ``lti_http_timeout_s``, and runs off the
event loop: grade delivery in the :class:`GradeOutbox` thread, a roster sync in a worker
thread (``anyio.to_thread``). Access tokens come from the platform's token URL (OAuth 2
client credentials with a JWT assertion signed by the tool, ``api.services.lti.client_assertion``)
and are kept until shortly before they expire.

The outbox (``api.store.lti``): a score is written in the transaction that makes it final;
this thread leases due rows, posts each to ``{lineitem}/scores`` and marks it sent, or
schedules the next try with exponential back-off (up to ``lti_retry_max_s``). Rows live in
the database, so a restart (or another replica) picks up where this one stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..db import Database, utcnow
from ..store import lti as store
from .grade_events import ScoreChange
from .lti import (
    AGS_SCORE_SCOPE,
    NRPS_SCOPE,
    SigningKey,
    client_assertion,
    frame_ancestors,
    role_of,
)

__all__ = [
    "PlatformCalls",
    "GradeOutbox",
    "ServiceError",
    "scores_url",
    "backoff_s",
    "passback_listener",
    "frame_ancestors_of",
]

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("flopcards.lti")

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_ROSTER_PAGES = 200


class ServiceError(Exception):
    """A platform refused or could not be reached. ``refused``: it refused this request for
    good (a 4xx that sending it again cannot change); ``retry_after_s``: the wait it asked
    for (``Retry-After`` of a 429 or 503)."""

    def __init__(
        self, message: str, refused: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.refused = refused
        self.retry_after_s = retry_after_s


# A score the scores endpoint answers with one of these is refused for good: malformed or
# invalid (400, 422), its line item gone (404, 410), a newer grade there (409). 401 (an
# expired token), 403 (a scope the LMS's admin may still grant), 408, 425 and 429 are tried
# again, as are 5xx and every failure to reach it.
REFUSED_STATUSES = frozenset({400, 404, 405, 409, 410, 413, 415, 422})


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < 1e9 else None


def scores_url(lineitem_url: str) -> str:
    """``{lineitem}/scores``, inserted before a query string the line item URL may carry."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """The wait before try ``attempts + 1``: doubling from ``base_s``, capped, with jitter
    so that replicas and students do not retry in lockstep."""
    wait = min(max_s, base_s * 2 ** min(attempts, 30))
    return wait * random.uniform(0.8, 1.0)


@dataclass
class _Token:
    value: str
    expires_at: float


class PlatformCalls:
    """The tool's HTTP calls to platforms, with each platform's access tokens cached."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout = timeout_s
        self._http: httpx.Client | None = None  # made on first use: httpx loads in ~0.1 s
        self._tokens: dict[tuple[int, str], _Token] = {}
        self._lock = threading.Lock()

    @property
    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(timeout=self._timeout, follow_redirects=False)
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _token(self, platform: store.PlatformRecord, key: SigningKey, scope: str) -> str:
        cache_key = (platform.id, scope)
        with self._lock:
            cached = self._tokens.get(cache_key)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached.value
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(platform.client_id, platform.token_url, key),
            "scope": scope,
        }
        import httpx

        try:
            response = self._client.post(platform.token_url, data=form)
        except httpx.HTTPError as exc:
            raise ServiceError(f"token endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ServiceError(f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceError("token endpoint answered no access_token") from exc
        with self._lock:  # renewed a minute before it runs out
            self._tokens[cache_key] = _Token(value, time.monotonic() + max(0, lifetime - 60))
        return value

    def _forget(self, platform_id: int, scope: str) -> None:
        with self._lock:
            self._tokens.pop((platform_id, scope), None)

    def post_score(
        self, platform: store.PlatformRecord, key: SigningKey, job: store.GradeJob
    ) -> None:
        """Post one final score to its line item; ServiceError unless the platform took it."""
        body = {
            "userId": job.sub,
            "scoreGiven": job.score_given,
            "scoreMaximum": job.score_maximum,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": job.scored_at.isoformat(timespec="milliseconds"),
        }
        import httpx

        token = self._token(platform, key, AGS_SCORE_SCOPE)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCORE_TYPE}
        try:
            response = self._client.post(scores_url(job.lineitem_url), json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceError(f"scores endpoint unreachable: {exc}") from exc
        if response.status_code == 401:
            self._forget(platform.id, AGS_SCORE_SCOPE)  # a revoked or expired token
        if response.status_code not in (200, 201, 202, 204):
            code = response.status_code
            detail = response.text[:200].strip() if code in REFUSED_STATUSES else ""
            raise ServiceError(
                f"scores endpoint answered {code}" + (f": {detail}" if detail else ""),
                refused=code in REFUSED_STATUSES,
                retry_after_s=_retry_after(response) if code in (429, 503) else None,
            )

    def roster(
        self, platform: store.PlatformRecord, key: SigningKey, url: str, max_members: int
    ) -> list[tuple[str, str, str]]:
        """Every member of the context as (sub, name, role), following ``Link: rel=next``."""
        import httpx

        token = self._token(platform, key, NRPS_SCOPE)
        headers = {"Authorization": f"Bearer {token}", "Accept": MEMBERSHIP_TYPE}
        members: list[tuple[str, str, str]] = []
        next_url: str | None = url
        for _ in range(MAX_ROSTER_PAGES):
            if next_url is None:
                break
            try:
                response = self._client.get(next_url, headers=headers)
            except httpx.HTTPError as exc:
                raise ServiceError(f"memberships endpoint unreachable: {exc}") from exc
            if response.status_code != 200:
                raise ServiceError(f"memberships endpoint answered {response.status_code}")
            try:
                page = response.json()
            except ValueError as exc:
                raise ServiceError("memberships endpoint answered no JSON") from exc
            for member in page.get("members") or []:
                if not isinstance(member, dict) or member.get("status", "Active") != "Active":
                    continue
                sub, role = member.get("user_id"), role_of(member.get("roles"))
                if not isinstance(sub, str) or not sub or len(sub) > 255 or role is None:
                    continue
                name = member.get("name")
                if not isinstance(name, str) or not name.strip():
                    name = " ".join(
                        str(member.get(k) or "") for k in ("given_name", "family_name")
                    ).strip()
                members.append((sub, (name or "LMS user").strip()[:100], role))
                if len(members) > max_members:
                    raise ServiceError(f"the roster has more than {max_members} members")
            next_url = response.links.get("next", {}).get("url")
        return members


class GradeOutbox:
    """The thread that delivers the outbox's due scores (one per process; replicas share
    the rows through leases)."""

    BATCH = 20

    def __init__(
        self,
        db: Database,
        calls: PlatformCalls,
        interval_s: float,
        retry_base_s: float,
        retry_max_s: float,
        lease_s: float,
        every_minute: Callable[[], None] | None = None,
        initial_delay_s: float = 0.0,
    ) -> None:
        self._initial_delay = initial_delay_s
        self._db, self._calls = db, calls
        self._every_minute, self._last_minute = every_minute, 0.0
        self._interval, self._base, self._max = interval_s, retry_base_s, retry_max_s
        self._lease = timedelta(seconds=lease_s)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lti-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due scores now (a submission just put one in)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        # Start-up first: then the tool's key is made (once per database), off the request
        # path, before any LMS asks for it.
        if self._stop.wait(self._initial_delay):
            return
        try:
            self._db.call(store.ensure_key, utcnow())
        except Exception:
            log.exception("the tool's LTI key could not be made; a first request will")
        while not self._stop.is_set():
            try:
                if self._every_minute and time.monotonic() - self._last_minute > 60:
                    self._last_minute = time.monotonic()
                    self._every_minute()
                self.deliver_due()
            except Exception:  # the database away for a moment: try again next round
                log.exception("grade delivery round failed")
            self._wake.wait(self._interval)
            self._wake.clear()

    def deliver_due(self) -> int:
        """One round: lease due scores and deliver each. Returns how many were sent."""
        jobs = self._db.call(store.claim_due, utcnow(), self._lease, self.BATCH)
        if not jobs:
            return 0
        key = self._db.call(store.ensure_key, utcnow())
        platforms: dict[int, Any] = {}
        sent = 0
        for job in jobs:
            if self._stop.is_set():
                break
            try:
                platform = platforms.get(job.platform_id)
                if platform is None:
                    platform = platforms[job.platform_id] = self._db.call(
                        store.platform_by_id, job.platform_id
                    )
                self._calls.post_score(platform, key, job)
            except (ServiceError, store.NotFound) as exc:
                refused = isinstance(exc, ServiceError) and exc.refused
                wait = backoff_s(job.attempts, self._base, self._max)
                asked = exc.retry_after_s if isinstance(exc, ServiceError) else None
                if asked is not None:  # the platform's own wait, within our longest
                    wait = min(max(wait, asked), self._max)
                next_try = utcnow() + timedelta(seconds=wait)
                self._db.call(store.grade_failed, job.id, job.version, str(exc), next_try, refused)
                if refused:
                    log.warning("grade %d refused by the platform (%s)", job.id, exc)
                else:
                    log.warning("grade %d not delivered (%s); next try in %.0f s", job.id,
                                exc, wait)  # fmt: skip
                continue
            sent += self._db.call(store.grade_sent, job.id, job.version, utcnow())
        return sent


def passback_listener(outbox: GradeOutbox) -> Callable[[Database, ScoreChange], Awaitable[None]]:
    """The grade-events listener that puts a changed final score (an override, a regrade)
    in the outbox and wakes its thread. Submissions are already in it: ``submit_exam``
    writes them in its own transaction, and the same score again is no new row version."""

    async def listen(db: Database, change: ScoreChange) -> None:
        if await db.run(store.enqueue_change, change.exam_id, utcnow()):
            outbox.wake()
        elif change.reason in ("submitted", "auto_submitted"):
            outbox.wake()

    return listen


def frame_ancestors_of(db: Database, extra: str) -> str:
    """The study page's frame ancestors for the platforms registered now (a blocking
    read: start-up, the outbox thread, or a worker thread)."""
    platforms = db.call(store.list_platforms)
    urls = [u for p in platforms for u in (p.issuer, p.auth_login_url)]
    return frame_ancestors(urls, extra)
