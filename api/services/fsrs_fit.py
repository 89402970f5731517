"""Fitting a user's FSRS parameters to their own review log, with the ``fsrs`` package's
optimizer, in a separate process.

Why a process: the optimizer is a Python loop over every review, five epochs, each step a
few torch operations. In a thread of the server it would hold the GIL most of the time and
slow every request; in a process of its own (one at a time, at low priority, one torch
thread) the server stays as fast as before. Spawned, not forked: forking a process that has
torch's thread pools is unsafe.

Why count first: the optimizer trains only on reviews made at least a day after the
previous review of the same item (a same-day repeat says nothing about forgetting), and
with fewer of them than its mini-batch (512) it silently returns the default parameters. So
the service counts them itself and refuses (409) below that, rather than claim a fit that
did nothing. The loss before and after is the optimizer's own log loss, on the same reviews.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import anyio
import anyio.to_thread

__all__ = [
    "MIN_REVIEWS",
    "MIN_DAYS",
    "MAX_FIT_REVIEWS",
    "MAX_PER_ITEM",
    "History",
    "Sufficiency",
    "FitResult",
    "sufficiency",
    "trim",
    "fit",
    "FitRunner",
    "FitFailed",
]

MIN_REVIEWS = 512  # the optimizer's mini-batch: below it, it returns the defaults
MIN_DAYS = 14  # distinct days with reviews: forgetting is measured over days, not minutes
MAX_PER_ITEM = 64  # the optimizer reads each item's first 64 reviews only
MAX_FIT_REVIEWS = 20_000  # bounds one fit to about four minutes of one core

# (item id, rating 1-4, reviewed at, elapsed ms), oldest first
History = list[tuple[str, int, datetime, int]]


@dataclass(frozen=True)
class Sufficiency:
    """Whether a log is enough to fit, and how much more it needs."""

    usable_reviews: int
    review_days: int
    reviews_needed: int
    days_needed: int

    @property
    def enough(self) -> bool:
        return self.reviews_needed == 0 and self.days_needed == 0


def _per_item(history: Iterable[tuple[str, int, datetime, int]]) -> dict[str, list]:
    items: dict[str, list] = {}
    for row in history:
        reviews = items.setdefault(row[0], [])
        if len(reviews) < MAX_PER_ITEM:
            reviews.append(row)
    return items


def sufficiency(history: History) -> Sufficiency:
    """Count the reviews the optimizer learns from: within each item's first 64, those made
    a whole day (24 h) or more after the item's previous review."""
    usable = 0
    days: set[date] = set()
    for reviews in _per_item(history).values():
        for prev, cur in zip(reviews, reviews[1:], strict=False):
            if (cur[2] - prev[2]).days > 0:
                usable += 1
        days.update(r[2].date() for r in reviews)
    return Sufficiency(
        usable, len(days), max(0, MIN_REVIEWS - usable), max(0, MIN_DAYS - len(days))
    )


def trim(history: History) -> History:
    """At most ``MAX_FIT_REVIEWS`` reviews, whole items (their first 64 reviews), the items
    begun most recently first: a long history is fitted on its recent part."""
    items = _per_item(history)
    kept: list[tuple[str, int, datetime, int]] = []
    for reviews in sorted(items.values(), key=lambda r: r[0][2], reverse=True):
        if len(kept) + len(reviews) > MAX_FIT_REVIEWS:
            break
        kept.extend(reviews)
    return sorted(kept, key=lambda r: r[2])


@dataclass(frozen=True)
class FitResult:
    """A fit's outcome: the parameters and the log loss before (current) and after."""

    parameters: list[float]
    loss_before: float
    loss_after: float
    reviews_used: int
    seconds: float


def fit(history: History, current: Sequence[float] | None = None) -> FitResult:
    """Fit FSRS parameters to ``history`` (runs for seconds to minutes: call it in a worker
    process). The loss before is that of ``current`` (the defaults when None)."""
    import torch
    from fsrs import Optimizer, Rating, ReviewLog
    from fsrs.scheduler import DEFAULT_PARAMETERS

    started = time.perf_counter()
    history = trim(history)
    ids = {item: n for n, item in enumerate(dict.fromkeys(r[0] for r in history), start=1)}
    logs = [
        ReviewLog(
            card_id=ids[item], rating=Rating(rating), review_datetime=at, review_duration=elapsed
        )  # fmt: skip
        for item, rating, at, elapsed in history
    ]
    optimizer = Optimizer(logs)
    before = list(DEFAULT_PARAMETERS if current is None else current)
    with torch.no_grad():
        loss_before = optimizer._compute_batch_loss(parameters=before)
    parameters = [float(p) for p in optimizer.compute_optimal_parameters()]
    with torch.no_grad():
        loss_after = optimizer._compute_batch_loss(parameters=parameters)
    seconds = time.perf_counter() - started
    return FitResult(parameters, float(loss_before), float(loss_after), len(logs), seconds)


def _child(conn: Any, history: History, current: list[float] | None) -> None:
    """The fitting process: lowest priority, one torch thread; sends back the result or the
    error's text."""
    try:
        os.nice(19)
    except OSError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
        conn.send(("ok", fit(history, current)))
    except BaseException as exc:  # reported to the job, never lost
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class FitFailed(Exception):
    """The fitting process failed or died; the message says how."""


class FitRunner:
    """Fits in spawned processes, one at a time per server process; ``close`` ends them."""

    def __init__(self) -> None:
        self._one_at_a_time: anyio.Semaphore | None = None  # made in the event loop
        self._procs: set[Any] = set()

    async def run(self, history: History, current: Sequence[float] | None) -> FitResult:
        """Fit in a new process; the event loop only waits (a worker thread reads the pipe)."""
        if self._one_at_a_time is None:
            self._one_at_a_time = anyio.Semaphore(1)
        async with self._one_at_a_time:
            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe(duplex=False)
            params = None if current is None else list(current)
            proc = context.Process(target=_child, args=(child, history, params), daemon=True)
            proc.start()
            child.close()
            self._procs.add(proc)
            try:
                status, payload = await anyio.to_thread.run_sync(parent.recv)
            except EOFError as exc:
                raise FitFailed(f"the fitting process ended early (exit {proc.exitcode})") from exc
            finally:
                parent.close()
                await anyio.to_thread.run_sync(proc.join, 10)
                self._procs.discard(proc)
        if status != "ok":
            raise FitFailed(payload)
        return payload

    def close(self) -> None:
        """End every fitting process (their jobs stay "running" until they go stale)."""
        for proc in list(self._procs):
            proc.terminate()
