"""Service settings, read from ``FLOPCARDS_*`` environment variables when the app is created."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from content import DEFAULT_NOTES_DIR

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the service can be configured with; defaults serve a laptop."""

    model_config = SettingsConfigDict(env_prefix="FLOPCARDS_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/flopcards.db",
        description="Any SQLAlchemy URL; SQLite files get WAL, busy_timeout and foreign keys.",
    )
    content_dir: Path = Field(default=DEFAULT_NOTES_DIR, description="Directory of *.md notes.")
    host: str = "127.0.0.1"
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies whose X-Forwarded-For names the client (comma-separated "
        "addresses or networks, e.g. 10.0.0.5,192.168.1.0/24). Empty: none; the peer of the "
        "connection is the client, whatever headers it sends.",
    )
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: SecretStr | None = Field(
        default=None,
        description="When set, POST /users with this bearer token works even if registration "
        "is closed.",
    )
    open_registration: bool = Field(
        default=True,
        description="When false, POST /users answers 403; use `flopcards create-user`.",
    )
    run_examples: bool = Field(
        default=True, description="Run the notes' examples in the background after start-up."
    )
    example_cache_dir: Path = Field(
        default=Path("var/cache/examples"), description="Results of example runs, by code hash."
    )
    example_timeout_s: float = Field(default=30.0, gt=0, le=600)
    background_delay_s: float = Field(
        default=1.0, ge=0, le=60, description="Seconds after start-up before background work."
    )
    warm_up: bool = Field(default=True, description="Warm the flop counter in the background.")
    deadline_sweep_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Seconds between sweeps that submit overdue assessment copies with their "
        "saved answers (0: no sweep; copies are still submitted on their next access).",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    sqlite_writer_lock: bool = Field(
        default=True,
        description="Queue SQLite writers on a kernel lock (speed only: correctness is the "
        "database's, and holds without it).",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="NORMAL",
        description="SQLite durability: NORMAL keeps every acknowledged write through a crash "
        "of the process, FULL also through a power loss (at about a third of the study loop's "
        "capacity: README, Durability).",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Each entry an IP address or network: a typo must not silently trust no one, or
        (as uvicorn would read a bare word) a name that never matches."""
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return ",".join(entries)

    # --- limits on what one client can make the server store or compute (README, "Limits";
    # api.limits lists them all, with the fixed ones of content.NoteLimits and models.spec).
    max_note_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest note POST /notes/import accepts."
    )
    max_import_cards: int = Field(default=2000, ge=1, description="Cards per imported note.")
    max_import_errors: int = Field(
        default=50, ge=1, le=10_000, description="Errors listed per import (plus their total)."
    )
    user_max_cards: int = Field(
        default=10_000, ge=1, description="Imported cards a user may hold, retired ones too."
    )
    user_max_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        description="UTF-8 bytes of a user's imported cards (questions, answers, examples).",
    )
    import_rate_per_minute: float = Field(default=20, gt=0, description="Imports per user.")
    import_burst: int = Field(default=5, ge=1)
    import_concurrency: int = Field(default=2, ge=1, description="Imports running at once.")
    join_failures_per_minute: float = Field(
        default=5, gt=0, description="Wrong join or invitation codes per user (then 429)."
    )
    join_failure_burst: int = Field(default=10, ge=1)
    join_address_failures_per_minute: float = Field(
        default=30, gt=0, description="Wrong join or invitation codes per client address."
    )
    join_address_failure_burst: int = Field(default=60, ge=1)
    anki_concurrency: int = Field(
        default=2, ge=1, description="Anki collections read at once per server process."
    )
    register_rate_per_minute: float = Field(
        default=10,
        gt=0,
        description="Accounts POST /users creates per client address (the admin token's are "
        "not counted); a class behind one address registers within the burst.",
    )
    register_burst: int = Field(default=30, ge=1)
    lti_login_rate_per_minute: float = Field(
        default=60,
        gt=0,
        description="LTI logins (GET or POST /lti/login: each keeps a state row for 10 "
        "minutes) per client address; a class behind one address launches within the burst.",
    )
    lti_login_burst: int = Field(default=300, ge=1)
    profile_rate_per_minute: float = Field(
        default=30, gt=0, description="Uncached profiles per client address."
    )
    profile_burst: int = Field(default=10, ge=1)
    profile_concurrency: int = Field(
        default=1, ge=1, description="Uncached profiles running at once."
    )
    profile_cache_entries: int = Field(
        default=64, ge=0, description="Architecture profiles kept for HTTP clients."
    )

    # --- LTI 1.3 (docs/lti.md) ---
    public_url: str | None = Field(
        default=None,
        description="The service's address as LMSs and browsers reach it (e.g. "
        "https://flopcards.example.edu); builds the LTI login, launch and key-set URLs. "
        "Default: the address each request came to.",
    )
    lti_frame_ancestors: str = Field(
        default="",
        description="Origins, space-separated, that may show the study page in a frame besides "
        "the registered LMSs' own (e.g. https://*.instructure.com for Canvas cloud).",
    )
    lti_http_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Each call to a platform (keys, token, scores)."
    )
    lti_outbox_interval_s: float = Field(
        default=2.0, gt=0, le=600, description="How often grade delivery looks for due scores."
    )
    lti_retry_base_s: float = Field(
        default=10.0, gt=0, le=3600, description="First wait after a failed grade delivery."
    )
    lti_retry_max_s: float = Field(
        default=3600.0, gt=0, le=86_400, description="Longest wait between delivery attempts."
    )
    lti_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="Lifetime of a token an LTI launch gives."
    )
    lti_roster_max_members: int = Field(
        default=5000, ge=1, description="Members one roster sync reads from the LMS."
    )
