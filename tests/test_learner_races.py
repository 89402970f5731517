"""The learner's controls under racing requests, against two real servers on one database
(SQLite with its writer lock off, and PostgreSQL): settings, flags, leeches and edits keep
their rules because the database keeps them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from api.db import utcnow

from .conftest import BACKENDS
from .servers import Cluster, statuses
from .servers import cluster as two_servers

ROUNDS = 10


@pytest.fixture(scope="module", params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Cluster]:
    with two_servers(request.param, tmp_path_factory.mktemp("learner-races")) as running:
        yield running


def _post(cluster: Cluster, path: str, auth: dict, **kwargs) -> httpx.Response:
    return httpx.post(f"{cluster.urls[0]}{path}", headers=auth, timeout=30, **kwargs)


def test_concurrent_settings_changes_all_land_on_one_row(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    for n in range(ROUNDS):
        values = [round(0.7 + 0.03 * i + 0.001 * n, 3) for i in range(6)]
        bodies = [{"desired_retention": v} for v in values]
        responses = cluster.race(6, "PATCH", "/users/me/settings", bodies, headers=auth)
        assert statuses(responses) == [200] * 6
        for r, value in zip(responses, values, strict=True):
            assert r.json()["desired_retention"] == value  # each saw its own write
        stored = cluster.scalar("SELECT desired_retention FROM user_settings WHERE user_id = :u",
                                u=uid)  # fmt: skip
        assert round(stored, 3) in values
        assert cluster.scalar("SELECT count(*) FROM user_settings WHERE user_id = :u", u=uid) == 1


def test_suspends_and_unsuspends_at_once_make_one_flag_row(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    card = "alpha-kib"
    for _ in range(ROUNDS):
        paths = lambda i: f"/cards/{card}/{'suspend' if i % 2 else 'unsuspend'}"  # noqa: E731
        responses = cluster.race(8, "POST", paths, headers=auth)
        assert statuses(responses) == [200] * 8
        rows = cluster.scalar("SELECT count(*) FROM card_flag WHERE user_id = :u", u=uid)
        assert rows == 1
    everyone = cluster.race(8, "POST", "/cards/beta-fire/suspend", headers=auth)
    assert statuses(everyone) == [200] * 8
    assert cluster.scalar("SELECT count(*) FROM card_flag WHERE user_id = :u AND "
                          "card_id = 'beta-fire' AND suspended", u=uid) == 1  # fmt: skip


def test_an_answer_racing_a_suspend_is_recorded_or_refused(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    card = "beta-shuffle"
    for _ in range(ROUNDS):
        _post(cluster, f"/cards/{card}/unsuspend", auth)
        sid = _post(cluster, "/sessions", auth, json={"topics": ["beta"], "size": 50}).json()["id"]
        # One suspend (request 0) against five answers of the card.
        responses = cluster.race(6, "POST", lambda i, sid=sid: f"/sessions/{sid}/answer" if i
                                 else f"/cards/{card}/suspend",
                                 headers=auth, json={"item_id": card, "rating": "good"})  # fmt: skip
        answers = responses[1:]
        assert all(r.status_code in (200, 409) for r in answers), [r.text for r in answers]
        assert responses[0].status_code == 200 and responses[0].json()["suspended"] is True
        recorded = sum(r.status_code == 200 for r in answers)
        logged = cluster.scalar("SELECT count(*) FROM review_log WHERE session_id = :s", s=sid)
        assert logged == recorded
        nxt = httpx.get(f"{cluster.urls[1]}/sessions/{sid}/next", headers=auth, timeout=30)
        assert nxt.json().get("item_id") != card  # suspended now: never served
    reps = cluster.scalar("SELECT coalesce(max(reps), 0) FROM review_state WHERE user_id = :u "
                          "AND item_id = :i", u=uid, i=card)  # fmt: skip
    logs = cluster.scalar("SELECT count(*) FROM review_log WHERE user_id = :u AND item_id = :i",
                          u=uid, i=card)  # fmt: skip
    assert reps == logs


def test_concurrent_lapses_mark_a_leech_once(cluster: Cluster) -> None:
    for _ in range(ROUNDS // 2):
        auth, uid = cluster.user()
        card = "beta-growth"
        now = utcnow().replace(tzinfo=None)
        with cluster.engine.begin() as conn:  # a card in review with 7 lapses, due now
            conn.execute(text(
                "INSERT INTO review_state (user_id, item_id, kind, state, step, stability, "
                "difficulty, due, last_review, reps, lapses) VALUES (:u, :c, 'card', 2, NULL, "
                "5.0, 6.0, :due, :last, 20, 7)"),
                {"u": uid, "c": card, "due": now, "last": now.replace(year=now.year - 1)})  # fmt: skip
        sids = [_post(cluster, "/sessions", auth, json={"topics": ["beta"]}).json()["id"]
                for _ in range(6)]  # fmt: skip
        responses = cluster.race(6, "POST", lambda i, sids=sids: f"/sessions/{sids[i]}/answer",
                                 headers=auth, json={"item_id": card, "rating": "again"})  # fmt: skip
        codes = statuses(responses)
        assert set(codes) <= {200, 409} and codes[0] == 200
        lapses = cluster.scalar("SELECT lapses FROM review_state WHERE user_id = :u", u=uid)
        assert lapses == 8  # the first lapse moves it to relearning: the rest are not lapses
        flags = cluster.scalar("SELECT count(*) FROM card_flag WHERE user_id = :u AND leech "
                               "AND suspended", u=uid)  # fmt: skip
        assert flags == 1
        reps = cluster.scalar("SELECT reps FROM review_state WHERE user_id = :u", u=uid)
        logs = cluster.scalar("SELECT count(*) FROM review_log WHERE user_id = :u", u=uid)
        assert (reps - 20, logs) == (codes.count(200), codes.count(200))


def test_concurrent_edits_leave_tags_matching_the_card(cluster: Cluster) -> None:
    auth, uid = cluster.user()
    note = "---\ntopic: race-notes\ntitle: Race\ntags: [race]\n---\nQ: One? {#one}\nA: 1\n"
    r = _post(cluster, "/notes/import", auth | {"content-type": "text/markdown"}, content=note)
    assert r.status_code == 200, r.text
    card = f"u{uid}~one"
    for n in range(ROUNDS):
        bodies = [{"tags": [f"t{n}-{i}", f"shared{i % 2}"]} for i in range(6)]
        responses = cluster.race(len(bodies), "PATCH", f"/cards/{card}", bodies, headers=auth)
        assert statuses(responses) == [200] * 6
        with cluster.engine.connect() as conn:
            stored = conn.execute(text("SELECT tags FROM card WHERE id = :c"), {"c": card})
            own = stored.scalar_one()
            tags = set(conn.execute(text("SELECT tag FROM card_tag WHERE card_id = :c"),
                                    {"c": card}).scalars())  # fmt: skip
        own = own if isinstance(own, list) else json.loads(own)
        assert own in [b["tags"] for b in bodies]  # one edit won, whole
        assert tags == set(own)  # the note's tag stays on the note, stored once
    found = httpx.get(f"{cluster.urls[1]}/cards", params={"tag": "race"}, headers=auth).json()
    assert [c["id"] for c in found["data"]] == [card]  # found through its note's tag
