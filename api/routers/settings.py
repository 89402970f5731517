"""The learner's settings and FSRS parameters: desired retention, new items a day, and
parameters fitted to their own review log (in the background), or reset to the defaults.

HTTP only: the rows are kept by ``api.store.settings``; the fit runs in a process of its own
(``api.services.fsrs_fit``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any, Literal

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ..db import utcnow
from ..deps import CurrentUser, DbDep
from ..refusals import Conflict, NullField, TooLittleHistory, Unauthorized, refusals
from ..services.fsrs_fit import MAX_FIT_REVIEWS, History, sufficiency
from ..services.scheduler import DEFAULT_PARAMETERS
from ..store.settings import (
    FIT_STALE_AFTER,
    SettingsRecord,
    finish_fit,
    get_settings,
    reset_parameters,
    start_fit,
    update_settings,
)
from ..store.study import fit_history

log = logging.getLogger("flopcards")

router = APIRouter(prefix="/users/me", tags=["settings"], responses=refusals(Unauthorized))

MIN_RETENTION, MAX_RETENTION = 0.70, 0.97
MAX_NEW_PER_DAY = 1000
MAX_HISTORY_ROWS = 200_000  # read for a fit at most; the fit itself uses MAX_FIT_REVIEWS


class SettingsPatch(BaseModel):
    """Body of ``PATCH /users/me/settings``: the settings to change."""

    model_config = ConfigDict(extra="forbid")

    desired_retention: float | None = Field(
        default=None,
        ge=MIN_RETENTION,
        le=MAX_RETENTION,
        allow_inf_nan=False,
        description="The probability of recall FSRS schedules each review for (0.70–0.97).",
    )
    new_per_day: int | None = Field(
        default=None, ge=0, le=MAX_NEW_PER_DAY, description="New items a day, all sessions."
    )


class FitOut(BaseModel):
    """The state of the user's last FSRS fit."""

    status: Literal["none", "running", "done", "failed", "reset"]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reviews_used: int | None = None
    loss_before: float | None = None
    loss_after: float | None = None
    parameters: list[float] | None = None
    applied: bool | None = None
    seconds: float | None = None
    error: str | None = None


class SettingsOut(BaseModel):
    """A user's settings and the FSRS parameters every schedule of theirs uses."""

    desired_retention: float
    new_per_day: int
    parameters: list[float]
    parameters_source: Literal["default", "fitted"]
    fit: FitOut
    updated_at: datetime | None


def _fit_out(fit: dict[str, Any] | None) -> FitOut:
    """The stored fit state; a run older than FIT_STALE_AFTER lost its process."""
    if not fit:
        return FitOut(status="none")
    out = FitOut.model_validate({k: v for k, v in fit.items() if k in FitOut.model_fields})
    started = out.started_at
    if out.status == "running" and started and utcnow() - started > FIT_STALE_AFTER:
        return out.model_copy(update={"status": "failed", "error": "the fit's process stopped"})
    return out


def _out(record: SettingsRecord) -> SettingsOut:
    fitted = record.fsrs_parameters is not None
    return SettingsOut(
        desired_retention=record.desired_retention,
        new_per_day=record.new_per_day,
        parameters=list(record.fsrs_parameters if fitted else DEFAULT_PARAMETERS),  # type: ignore[arg-type]
        parameters_source="fitted" if fitted else "default",
        fit=_fit_out(record.fsrs_fit),
        updated_at=record.updated_at,
    )


@router.get("/settings", response_model=SettingsOut)
async def read_settings(user: CurrentUser, db: DbDep) -> SettingsOut:
    """Your settings and the FSRS parameters your schedules use."""
    assert user.id is not None
    return _out(await db.run(get_settings, user.id))


@router.patch("/settings", response_model=SettingsOut, responses=refusals(NullField))
async def change_settings(body: SettingsPatch, user: CurrentUser, db: DbDep) -> SettingsOut:
    """Change some settings; every schedule and interval preview uses them from now on."""
    assert user.id is not None
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise NullField("a setting cannot be null; leave it out to keep it")
    if not changes:
        return _out(await db.run(get_settings, user.id))
    return _out(await db.run(update_settings, user.id, changes))


@router.post(
    "/fsrs/optimize",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FitOut,
    responses=refusals(TooLittleHistory, Conflict),
)
async def optimize(user: CurrentUser, db: DbDep, request: Request) -> FitOut:
    """Fit FSRS parameters to your review log in the background; poll ``GET`` for the
    result. 409 says how many more reviews and days it needs."""
    assert user.id is not None
    history: History = await db.offload(fit_history, user.id, MAX_HISTORY_ROWS)
    enough = await anyio.to_thread.run_sync(sufficiency, history)
    if not enough.enough:
        raise TooLittleHistory(_too_little(enough))
    current = (await db.run(get_settings, user.id)).fsrs_parameters
    job_id = uuid.uuid4().hex
    fit = await db.run(start_fit, user.id, job_id, min(len(history), MAX_FIT_REVIEWS))
    _launch(request.app, user.id, job_id, history, current)
    return _fit_out(fit)


def _too_little(enough: Any) -> dict[str, Any]:
    return {
        "message": (
            f"too little history to fit: {enough.usable_reviews} usable reviews over "
            f"{enough.review_days} days; {enough.reviews_needed} more reviews and "
            f"{enough.days_needed} more days needed"
        ),
        "usable_reviews": enough.usable_reviews,
        "review_days": enough.review_days,
        "reviews_needed": enough.reviews_needed,
        "days_needed": enough.days_needed,
    }


@router.get("/fsrs/optimize", response_model=FitOut)
async def optimize_status(user: CurrentUser, db: DbDep) -> FitOut:
    """Your last fit: running, or done with {parameters, reviews_used, loss_before,
    loss_after} (and whether they were applied: only when they fit better)."""
    assert user.id is not None
    return _fit_out((await db.run(get_settings, user.id)).fsrs_fit)


@router.post("/fsrs/reset", response_model=SettingsOut)
async def reset(user: CurrentUser, db: DbDep) -> SettingsOut:
    """Back to fsrs's default parameters (a fit under way will not apply its result)."""
    assert user.id is not None
    return _out(await db.run(reset_parameters, user.id))


def _launch(app: FastAPI, user_id: int, job_id: str, history: History, current: Any) -> None:
    """Run the fit as a task of the app (kept referenced until it ends)."""
    tasks: set[asyncio.Task] = app.state.fit_tasks
    task = asyncio.get_running_loop().create_task(_fit_job(app, user_id, job_id, history, current))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _fit_job(app: FastAPI, user_id: int, job_id: str, history: History, current: Any) -> None:
    """Fit in the worker process, then store the outcome; the parameters are applied only
    when they fit the log better than the ones in use."""
    db = app.state.db
    try:
        result = await app.state.fit_runner.run(history, current)
    except Exception as exc:  # a failed fit is reported to the user, not lost
        log.warning("FSRS fit %s failed: %s", job_id, exc)
        failed = {"status": "failed", "error": str(exc)[:500],
                  "finished_at": utcnow().isoformat()}  # fmt: skip
        await db.offload(finish_fit, user_id, job_id, failed, None)
        return
    better = result.loss_after <= result.loss_before
    done = {
        "status": "done",
        "finished_at": utcnow().isoformat(),
        "reviews_used": result.reviews_used,
        "loss_before": result.loss_before,
        "loss_after": result.loss_after,
        "parameters": result.parameters,
        "applied": better,
        "seconds": round(result.seconds, 2),
    }
    await db.offload(finish_fit, user_id, job_id, done, result.parameters if better else None)
