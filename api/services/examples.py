"""Background runner for the content notes' executable examples.

At start-up a daemon thread runs every example of a public card that has no stored result
for its current code, one at a time, so the first requests never wait for it. Results are
also cached on disk by content hash (:class:`content.runner.ExampleCache`), so a restart or a
fresh database re-uses them. Imported cards (``owner_id`` set) are never run.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from content.runner import ExampleCache

from ..db import Database
from ..store.notes import pending_examples, record_example_run

__all__ = ["ExampleRunner"]

log = logging.getLogger("flopcards")


class ExampleRunner:
    """Runs pending examples in a background thread until done or stopped."""

    def __init__(self, engine: Engine, cache: ExampleCache, timeout_s: float = 30.0) -> None:
        self.engine = engine
        self.db = Database(engine)
        self.cache = cache
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ran = 0
        self.from_cache = 0

    def start(self, delay_s: float = 0.0) -> None:
        """Start the background thread, after ``delay_s`` seconds."""
        self._delay_s = delay_s
        self._thread = threading.Thread(target=self._loop, name="example-runner", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 1.0) -> None:
        """Ask the thread to stop after the example it is running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_s)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the pending examples to be done; True when they are."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def pending(self) -> list[tuple[int, str]]:
        """(example id, code) of public examples with no result for their current code."""
        return self.db.call(pending_examples)

    def run_pending(self) -> int:
        """Run every pending example now, in this thread; return how many were handled."""
        done = 0
        for example_id, code in self.pending():
            if self._stop.is_set():
                break
            result, cached = self.cache.run(code, self.timeout_s)
            self.ran += not cached
            self.from_cache += cached
            stored = self.db.call(
                record_example_run, example_id, code, result.output, result.succeeded,
                result.duration_ms,
            )  # fmt: skip
            if stored is None:
                continue  # re-synced meanwhile: the new code gets its own turn
            card_id, ok = stored
            if not ok:
                log.warning("example %s of card %s drifted from its output", example_id, card_id)
            done += 1
        return done

    def _loop(self) -> None:
        if self._stop.wait(getattr(self, "_delay_s", 0.0)):
            return
        try:
            self.run_pending()
        except Exception:  # a broken example run must never take the service down
            log.exception("example runner stopped")
