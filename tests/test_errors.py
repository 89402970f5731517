"""Bad input answers a JSON 4xx and writes nothing; users never see each other's data."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from api.tables import ReviewLog, ReviewState, StudySession, User

from .conftest import register


def _count(client, table) -> int:
    with Session(client.app.state.engine) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def test_auth_required_with_json_401(client) -> None:
    for method, path in [("get", "/progress"), ("post", "/sessions"), ("get", "/sessions/1/next"),
                         ("get", "/progress/reviews"), ("get", "/users/me")]:  # fmt: skip
        r = client.request(method, path, json={})
        assert r.status_code == 401, path
        assert r.json() == {"detail": "missing or invalid bearer token"}
        assert r.headers["www-authenticate"] == "Bearer"
    bad = client.get("/progress", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert client.get("/users/me", headers=register(client, "eve")).json()["name"] == "eve"


def test_public_endpoints_need_no_token(client) -> None:
    assert client.get("/topics").status_code == 200
    assert client.get("/cards").json()["count"] == 7
    assert (
        client.get("/cards/beta-fire").json()["front"]
        == "Which network introduced the fire module?"
    )


def test_other_users_session_is_404_and_untouched(client) -> None:
    ada, bob = register(client, "ada"), register(client, "bob")
    sid = client.post("/sessions", json={}, headers=ada).json()["id"]
    for method, path, body in [("get", f"/sessions/{sid}", None), ("get", f"/sessions/{sid}/next", None),
                               ("post", f"/sessions/{sid}/answer", {"item_id": "beta-fire", "rating": "good"})]:  # fmt: skip
        r = client.request(method, path, json=body, headers=bob)
        assert r.status_code == 404 and r.json() == {"detail": f"no study session {sid}"}
    assert _count(client, ReviewLog) == 0
    assert client.get("/progress/reviews", headers=bob).json() == {"data": [], "count": 0}


def test_unknown_ids_are_404(client) -> None:
    auth = register(client)
    assert client.get("/sessions/999/next", headers=auth).json() == {
        "detail": "no study session 999"
    }
    sid = client.post("/sessions", json={}, headers=auth).json()["id"]
    r = client.post(
        f"/sessions/{sid}/answer", json={"item_id": "no-such-card", "rating": "good"}, headers=auth
    )
    assert r.status_code == 404 and r.json()["detail"] == f"no item 'no-such-card' in session {sid}"
    assert client.get("/cards/does-not-exist").json() == {"detail": "no card 'does-not-exist'"}
    assert (_count(client, ReviewLog), _count(client, ReviewState)) == (0, 0)


def test_malformed_json_and_wrong_types_are_422_and_write_nothing(client) -> None:
    auth = register(client)
    hdr = auth | {"content-type": "application/json"}
    r = client.post("/sessions", content=b'{"size": 5', headers=hdr)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    for body in [{"size": "many"}, {"size": 0}, {"size": 10**6}, {"topics": "alpha"}, {"new_limit": -1},
                 {"size": 1.5}, []]:  # fmt: skip
        r = client.post("/sessions", json=body, headers=auth)
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], list)
    r = client.post("/sessions", json={"topics": ["nope"]}, headers=auth)
    assert r.status_code == 422 and r.json() == {"detail": "unknown topic(s): nope"}
    assert _count(client, StudySession) == 0
    sid = client.post("/sessions", json={}, headers=auth).json()["id"]
    for body in [{"item_id": "beta-fire", "rating": "meh"}, {"item_id": "beta-fire", "rating": "good", "elapsed_ms": -5},
                 {"rating": "good"}, {"item_id": "", "rating": "good"}]:  # fmt: skip
        r = client.post(f"/sessions/{sid}/answer", json=body, headers=auth)
        assert r.status_code == 422, body
    assert client.get("/sessions/abc", headers=auth).status_code == 422
    assert client.get("/cards", params={"limit": 0}).status_code == 422
    assert (_count(client, ReviewLog), _count(client, ReviewState)) == (0, 0)


def test_body_over_one_megabyte_is_413(client) -> None:
    r = client.post("/users", content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    assert r.json() == {"detail": "request body larger than 1048576 bytes"}

    def chunks():  # no Content-Length: the streamed size is counted
        for _ in range(20):
            yield b"x" * 100_000

    r = client.post("/users", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _count(client, User) == 0


def test_registration_can_be_closed(make_client) -> None:
    with make_client(open_registration=False) as client:
        r = client.post("/users", json={"name": "ada"})
        assert r.status_code == 403 and r.json() == {
            "detail": "registration is closed on this server"
        }
        assert _count(client, User) == 0


def test_completed_session_answers_409(client) -> None:
    auth = register(client)
    sid = client.post("/sessions", json={"size": 1}, headers=auth).json()["id"]
    ok = client.post(
        f"/sessions/{sid}/answer", json={"item_id": "beta-fire", "rating": "good"}, headers=auth
    )
    assert ok.status_code == 200
    again = client.post(
        f"/sessions/{sid}/answer", json={"item_id": "beta-shuffle", "rating": "good"}, headers=auth
    )
    assert again.status_code == 409 and "complete" in again.json()["detail"]
    assert _count(client, ReviewLog) == 1


def test_blank_name_rejected(client) -> None:
    assert client.post("/users", json={"name": "   "}).status_code == 422
    assert client.post("/users", json={"name": ""}).status_code == 422
    assert client.post("/users", json={}).status_code == 422
    assert _count(client, User) == 0


def test_closed_registration_admits_the_admin_token(make_client) -> None:
    admin = "a-long-admin-token-from-the-env-file-0123456789"
    with make_client(open_registration=False, admin_token=admin) as client:
        assert client.post("/users", json={"name": "x"}).status_code == 403
        wrong = client.post("/users", json={"name": "x"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        ok = client.post(
            "/users", json={"name": "ada"}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert ok.status_code == 201 and ok.json()["name"] == "ada"
        assert _count(client, User) == 1


def test_tokens_are_random_long_and_stored_hashed(client) -> None:
    from api.security import hash_token

    tokens = [client.post("/users", json={"name": f"u{i}"}).json()["token"] for i in range(3)]
    assert len(set(tokens)) == 3 and all(len(t) >= 43 for t in tokens)  # 32 bytes, base64url
    with Session(client.app.state.engine) as s:
        stored = {u.token_hash for u in s.exec(select(User))}
    assert stored == {hash_token(t) for t in tokens} and not stored & set(tokens)


def test_a_dropped_database_connection_is_a_503_then_recovers(make_client, db_url) -> None:
    # PostgreSQL restarted (here: every connection of the app terminated): a request on a
    # dead pooled connection answers 503 with Retry-After, never 500, and the pool recovers.
    if not db_url.startswith("postgresql"):
        import pytest

        pytest.skip("the server-side termination is PostgreSQL's")
    from sqlalchemy import create_engine, text

    with make_client() as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
        admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))  # fmt: skip
        admin.dispose()
        codes = [client.get("/health") for _ in range(4)]
        assert {r.status_code for r in codes} <= {200, 503}, [r.text for r in codes]
        assert all(r.headers.get("retry-after") == "1" for r in codes if r.status_code == 503)
        assert codes[-1].status_code == 200
