"""Settings and per-user FSRS: desired retention bounds and use, new items a day, and FSRS
parameters fitted to a simulated learner's log in the background, used, then reset."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS
from sqlmodel import Session

from api.db import utcnow, writing
from api.services.scheduler import FSRS
from api.services.study_rules import card_for_fsrs
from api.store.study import apply_review, interval_days, load_state

from .conftest import register
from .learner_sim import TRUE_PARAMETERS, simulate


def _uid(client, auth) -> int:
    return client.get("/users/me", headers=auth).json()["id"]


def _first_item(client, auth, **body) -> tuple[int, dict]:
    sid = client.post("/sessions", json={"size": 5, **body}, headers=auth).json()["id"]
    return sid, client.get(f"/sessions/{sid}/next", headers=auth).json()


def _easy_days(retention: float, parameters=DEFAULT_PARAMETERS) -> float:
    """What fsrs itself gives a new card rated easy, in days."""
    scheduler = Scheduler(parameters, desired_retention=retention, enable_fuzzing=False)
    now = utcnow()
    card, _ = scheduler.review_card(Card(due=now), Rating.Easy, now)
    return round((card.due - now).total_seconds() / 86400, 4)


def test_defaults_then_patch_one_field_at_a_time(client) -> None:
    auth = register(client)
    s = client.get("/users/me/settings", headers=auth).json()
    assert (s["desired_retention"], s["new_per_day"], s["parameters_source"]) == (
        0.9,
        1000,
        "default",
    )
    assert s["parameters"] == list(DEFAULT_PARAMETERS) and s["fit"] == {"status": "none"} | {
        k: None for k in s["fit"] if k != "status"
    }
    r = client.patch("/users/me/settings", json={"desired_retention": 0.8}, headers=auth)
    assert r.status_code == 200 and (r.json()["desired_retention"], r.json()["new_per_day"]) == (
        0.8,
        1000,
    )
    r = client.patch("/users/me/settings", json={"new_per_day": 3}, headers=auth)
    assert (r.json()["desired_retention"], r.json()["new_per_day"]) == (0.8, 3)
    assert client.get("/users/me/settings", headers=auth).json()["new_per_day"] == 3
    other = register(client, "bob")  # settings are per user
    assert client.get("/users/me/settings", headers=other).json()["desired_retention"] == 0.9


@pytest.mark.parametrize(
    "body",
    [
        '{"desired_retention": 0.69}',
        '{"desired_retention": 0.971}',
        '{"desired_retention": "high"}',
        '{"desired_retention": null}',
        '{"desired_retention": NaN}',
        '{"desired_retention": Infinity}',
        '{"new_per_day": -1}',
        '{"new_per_day": 1001}',
        '{"new_per_day": 2.5}',
        '{"retention": 0.8}',
        "[0.8]",
    ],
)
def test_bad_settings_are_422_and_change_nothing(client, body) -> None:
    auth = register(client)
    client.patch("/users/me/settings", json={"desired_retention": 0.85}, headers=auth)
    r = client.patch("/users/me/settings", content=body,
                     headers=auth | {"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422, r.text
    after = client.get("/users/me/settings", headers=auth).json()
    assert (after["desired_retention"], after["new_per_day"]) == (0.85, 1000)


@pytest.mark.parametrize("retention", [0.7, 0.8, 0.97])
def test_retention_sets_every_preview_and_schedule(client, retention) -> None:
    auth = register(client)
    client.patch("/users/me/settings", json={"desired_retention": retention}, headers=auth)
    sid, item = _first_item(client, auth)
    expected = _easy_days(retention)
    assert expected != _easy_days(0.9)  # the retention really changes the interval
    assert item["intervals"]["easy"]["days"] == expected
    out = client.post(f"/sessions/{sid}/answer", headers=auth,
                      json={"item_id": item["item_id"], "rating": "easy"}).json()  # fmt: skip
    assert out["interval_days"] == expected


def test_new_per_day_counts_across_sessions(client) -> None:
    auth = register(client)
    client.patch("/users/me/settings", json={"new_per_day": 2}, headers=auth)
    for _ in range(2):
        sid, item = _first_item(client, auth, new_limit=10)
        assert item["state"] == "new"
        client.post(f"/sessions/{sid}/answer", headers=auth,
                    json={"item_id": item["item_id"], "rating": "good"})  # fmt: skip
    # Two new cards today (both now learning, due in 10 minutes): nothing more to study.
    assert _first_item(client, auth, new_limit=10)[1] == {"done": True}


def test_optimize_refuses_with_what_is_missing(client) -> None:
    auth = register(client)
    with Session(client.app.state.engine) as s, writing(s):
        now = utcnow()
        for day, item in enumerate(["alpha-kib", "alpha-kib", "beta-fire"]):
            apply_review(s, FSRS(), user_id=_uid(client, auth), item_id=item, kind="card",
                         rating="good", elapsed_ms=900, now=now - timedelta(days=5 - day))  # fmt: skip
        s.commit()
    r = client.post("/users/me/fsrs/optimize", headers=auth)
    assert r.status_code == 409
    # alpha-kib reviewed on two days (one usable review), beta-fire once: 3 days in all.
    assert r.json()["detail"] | {"message": ""} == {
        "message": "",
        "usable_reviews": 1,
        "review_days": 3,
        "reviews_needed": 511,
        "days_needed": 11,
    }
    assert "511 more reviews and 11 more days" in r.json()["detail"]["message"]
    assert client.get("/users/me/fsrs/optimize", headers=auth).json()["status"] == "none"


def _wait_for_fit(client, auth, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fit = client.get("/users/me/fsrs/optimize", headers=auth).json()
        if fit["status"] != "running":
            return fit
        time.sleep(0.5)
    raise AssertionError("the fit did not finish")


def test_fit_on_a_simulated_learner_is_used_then_reset(client) -> None:
    auth = register(client)
    uid, engine = _uid(client, auth), client.app.state.engine
    items = [f"q:sim-{i:03d}" for i in range(280)]
    reviews = simulate(engine, uid, items, utcnow() - timedelta(days=41), days=40, new_per_day=7)
    started = client.post("/users/me/fsrs/optimize", headers=auth)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running" and started.json()["reviews_used"] == reviews
    again = client.post("/users/me/fsrs/optimize", headers=auth)  # one fit at a time
    assert again.status_code == 409 and "already running" in again.json()["detail"]
    fit = _wait_for_fit(client, auth)
    assert fit["status"] == "done", fit
    assert fit["reviews_used"] == reviews and fit["applied"] is True
    assert fit["loss_after"] <= fit["loss_before"]
    fitted = fit["parameters"]
    assert len(fitted) == 21 and fitted != list(DEFAULT_PARAMETERS)
    # The learner's first-day memory is better than the defaults assume: the fit moves the
    # initial stability of "again" towards the true value.
    assert abs(fitted[0] - TRUE_PARAMETERS[0]) < abs(DEFAULT_PARAMETERS[0] - TRUE_PARAMETERS[0])
    settings = client.get("/users/me/settings", headers=auth).json()
    assert (settings["parameters_source"], settings["parameters"]) == ("fitted", fitted)
    print(f"fit: {reviews} reviews, loss {fit['loss_before']:.4f} -> {fit['loss_after']:.4f}, "
          f"{fit['seconds']} s")  # fmt: skip

    # From now on schedules use the fitted parameters: a card in review, rated good.
    with Session(engine) as s, writing(s):
        now = utcnow()
        for days, rating in ((60, "easy"), (52, "good")):
            apply_review(s, FSRS(), user_id=uid, item_id="beta-fire", kind="card",
                         rating=rating, elapsed_ms=900, now=now - timedelta(days=days))  # fmt: skip
        s.commit()
    sid, item = _first_item(client, auth, topics=["beta"])
    assert item["item_id"] == "beta-fire" and item["state"] == "review"
    with Session(engine) as s:
        state = load_state(s, uid, "beta-fire")

    def good_days(fsrs: FSRS) -> float:
        now = utcnow()
        return interval_days(fsrs.preview(card_for_fsrs(fsrs, state, now), now)["good"])

    assert item["intervals"]["good"]["days"] == good_days(FSRS(0.9, fitted))
    assert good_days(FSRS(0.9, fitted)) != good_days(FSRS(0.9))  # the fit changes it

    reset = client.post("/users/me/fsrs/reset", headers=auth).json()
    assert reset["parameters_source"] == "default" and reset["fit"]["status"] == "reset"
    sid, item = _first_item(client, auth, topics=["beta"])
    assert item["intervals"]["good"]["days"] == good_days(FSRS(0.9))
