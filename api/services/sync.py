"""Sync the content directory into the database at start-up (``api.store.sync`` writes it).

New cards are added, edited cards are updated in place (keeping their review history),
removed cards are retired, never deleted. Cards of a note that failed to parse are left as
they are: a typo must not retire a whole topic.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from content import LoadedContent

from ..db import Database
from ..store.notes import code_hash
from ..store.sync import SyncReport, sync_public

__all__ = ["SyncReport", "sync_content", "code_hash"]

log = logging.getLogger("flopcards")


def sync_content(engine: Engine, loaded: LoadedContent) -> SyncReport:
    """Bring the public cards and topics in the database in line with ``loaded``."""
    report = Database(engine).call(sync_public, loaded)
    for err in report.errors:
        log.warning("note skipped: %s", err)
    return report
