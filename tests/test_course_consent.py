"""Nobody is put in a course without consent, no route enumerates accounts, and join codes
cannot be guessed at speed (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.db import utcnow
from api.security import hash_token
from api.store import NotFound
from api.store.courses import accept_invite

from .conftest import register
from .servers import cluster, statuses


def _me(client, auth) -> int:
    return client.get("/users/me", headers=auth).json()["id"]


def _course(client, auth, title="CNNs 101") -> dict:
    r = client.post("/courses", json={"title": title}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_stranger_cannot_be_made_an_instructor_nor_told_apart_from_no_one(client) -> None:
    """The issue's attack: POST /courses/{id}/instructors with every user id made each one a
    member (204), and the member list then named every account. Now a non-member and an
    unknown id get the same 404, and nobody is added."""
    mallory, victim = register(client, "mallory"), register(client, "victim")
    course = _course(client, mallory, "Free grades")
    path = f"/courses/{course['id']}/instructors"
    victim_id = _me(client, victim)
    stranger = client.post(path, json={"user_id": victim_id}, headers=mallory)
    nobody = client.post(path, json={"user_id": victim_id + 1000}, headers=mallory)
    assert stranger.status_code == nobody.status_code == 404
    assert stranger.json()["detail"].replace(str(victim_id), "N") == nobody.json()[
        "detail"
    ].replace(str(victim_id + 1000), "N")
    assert client.get("/courses", headers=victim).json() == []  # the victim sees nothing
    members = client.get(f"/courses/{course['id']}/members", headers=mallory).json()
    assert [m["name"] for m in members] == ["mallory"]
    assert client.get(f"/courses/{course['id']}", headers=victim).status_code == 404


def test_a_member_can_be_promoted_and_a_stranger_invited_with_consent(client) -> None:
    teacher, ada, bob, eve = (register(client, n) for n in ("teacher", "ada", "bob", "eve"))
    course = _course(client, teacher)
    cid = course["id"]
    assert client.post("/courses/join", json={"join_code": course["join_code"]},
                       headers=ada).status_code == 200  # fmt: skip
    path = f"/courses/{cid}/instructors"
    assert client.post(path, json={"user_id": _me(client, ada)}, headers=ada).status_code == 403
    assert client.post(path, json={"user_id": _me(client, ada)}, headers=teacher).status_code == 204
    assert client.get(f"/courses/{cid}", headers=ada).json()["role"] == "instructor"
    # Bob is not a member: he gets an invitation, and only accepting it makes him one.
    assert client.post(f"/courses/{cid}/invites", headers=bob).status_code == 404
    invite = client.post(f"/courses/{cid}/invites", headers=teacher)
    assert invite.status_code == 201, invite.text
    code = invite.json()["code"]
    assert invite.json()["role"] == "instructor" and len(code) >= 20
    assert client.get("/courses", headers=bob).json() == []
    accepted = client.post("/courses/invites/accept", json={"code": code}, headers=bob)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["id"], accepted.json()["role"]) == (cid, "instructor")
    assert accepted.json()["join_code"] == course["join_code"]
    # Used once: Eve cannot reuse it; the stored hash is not the code.
    again = client.post("/courses/invites/accept", json={"code": code}, headers=eve)
    assert again.status_code == 404 and client.get("/courses", headers=eve).json() == []
    members = client.get(f"/courses/{cid}/members", headers=bob).json()
    assert sorted((m["name"], m["role"]) for m in members) == [
        ("ada", "instructor"), ("bob", "instructor"), ("teacher", "instructor")]  # fmt: skip
    # An expired invitation opens nothing.
    late = client.post(f"/courses/{cid}/invites", headers=teacher).json()["code"]
    with Session(client.app.state.engine, expire_on_commit=False) as s, pytest.raises(NotFound):
        accept_invite(s, _me(client, eve), hash_token(late), utcnow() + timedelta(days=8))
    # Students cannot invite.
    student = register(client, "student")
    client.post("/courses/join", json={"join_code": course["join_code"]}, headers=student)
    assert client.post(f"/courses/{cid}/invites", headers=student).status_code == 403


def test_no_route_lists_other_accounts(client) -> None:
    """Every route that can name a user is confined to the caller or their courses: the
    OpenAPI paths taking a user id are only the course's own member routes."""
    paths = client.get("/openapi.json").json()["paths"]
    users = {p for p in paths if p.startswith("/users")}
    assert all(p.startswith("/users/me") for p in users - {"/users"}), users
    assert set(paths["/users"]) == {"post"}  # registering, never listing


def test_join_codes_rotate_and_wrong_ones_are_limited(make_client) -> None:
    with make_client(join_failure_burst=3, join_failures_per_minute=1,
                     join_address_failure_burst=5, join_address_failures_per_minute=1) as client:  # fmt: skip
        teacher, ada, bob, cat = (register(client, n) for n in ("teacher", "ada", "bob", "cat"))
        course = _course(client, teacher)
        old = course["join_code"]

        def join(auth, code):
            return client.post("/courses/join", json={"join_code": code}, headers=auth)

        # Right codes do not count: ada joins twice and still has her three wrong tries.
        assert join(ada, old).status_code == 200 and join(ada, old).status_code == 200
        assert [join(ada, "WRONG234").status_code for _ in range(4)] == [404, 404, 404, 429]
        r = join(ada, old)  # limited now even with the right code, until a token refills
        assert r.status_code == 429 and "too many wrong codes" in r.json()["detail"]
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # The address (all test clients share one) allows five wrong codes in all.
        assert [join(bob, "WRONG234").status_code for _ in range(3)] == [404, 404, 429]
        assert join(cat, old).status_code == 429  # the address is out of tokens
        # Rotation: a new code; the old one stops working; members stay.
        path = f"/courses/{course['id']}/join-code"
        assert client.post(path, headers=ada).status_code == 403
        rotated = client.post(path, headers=teacher)
        assert rotated.status_code == 200 and rotated.json()["join_code"] != old
        with client.app.state.engine.connect() as conn:
            codes = conn.execute(text("SELECT join_code FROM course")).scalars().all()
        assert codes == [rotated.json()["join_code"]]
        assert client.get(f"/courses/{course['id']}", headers=ada).json()["role"] == "student"
        assert client.post(path, headers=register(client, "x")).status_code == 404


def test_wrong_invitation_codes_count_as_wrong_codes(make_client) -> None:
    with make_client(join_failure_burst=2, join_failures_per_minute=1) as client:
        eve = register(client, "eve")
        tries = [client.post("/courses/invites/accept", json={"code": f"guess{n:06d}"},
                             headers=eve).status_code for n in range(3)]  # fmt: skip
        assert tries == [404, 404, 429]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_an_invitation_is_accepted_once_by_racing_users(engine, tmp_path) -> None:
    """Four users accept one invitation at once, on two server processes: the conditional
    update claims it for exactly one."""
    from .conftest import PG_URL

    if engine == "postgresql" and not PG_URL:
        pytest.skip("no PostgreSQL (scripts/with-postgres.sh)")
    with cluster(engine, tmp_path) as c:
        teacher, _ = c.user()
        course = httpx.post(f"{c.urls[0]}/courses", json={"title": "T"}, headers=teacher).json()
        invite = httpx.post(f"{c.urls[1]}/courses/{course['id']}/invites", headers=teacher)
        code = invite.json()["code"]
        racers = [c.user()[0] for _ in range(4)]
        barrier = threading.Barrier(4)
        out: list[httpx.Response | None] = [None] * 4

        def accept(i: int) -> None:
            with httpx.Client(base_url=c.urls[i % 2], timeout=60) as http:
                http.get("/health")
                barrier.wait()
                out[i] = http.post("/courses/invites/accept", json={"code": code},
                                   headers=racers[i])  # fmt: skip

        threads = [threading.Thread(target=accept, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert statuses([r for r in out if r is not None]) == [200, 404, 404, 404]
        assert c.scalar("SELECT count(*) FROM course_member WHERE role = 'instructor'") == 2
