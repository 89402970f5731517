"""The bad-input catalogue: each kind of hostile or broken request gets a JSON 4xx, never a
500, and writes nothing; hostile strings are stored and returned verbatim."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from api.tables import CardRow, StudySession, User

from .conftest import register

JSON = {"content-type": "application/json"}


def _count(client, table) -> int:
    with Session(client.app.state.engine) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def test_nul_bytes_in_bodies_are_refused(client) -> None:
    r = client.post("/users", json={"name": "a\u0000b"})
    assert r.status_code == 422 and "NUL" in str(r.json()["detail"])
    auth = register(client)
    r = client.post("/notes/import", content=b"Why?\nbecause\x00\n", params={"topic": "nul"},
                    headers=auth | {"content-type": "text/plain"})  # fmt: skip
    assert r.status_code == 422 and "NUL" in str(r.json()["detail"])
    assert _count(client, User) == 1


def test_deeply_nested_json(client) -> None:
    auth = register(client)
    body = b'{"topics": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post("/sessions", content=body, headers=auth | JSON)
    assert r.status_code in (400, 422) and "detail" in r.json()
    assert _count(client, StudySession) == 0


def test_invalid_utf8(client) -> None:
    r = client.post("/users", content=b'{"name": "\xff\xfe"}', headers=JSON)
    assert r.status_code in (400, 422) and "detail" in r.json()
    assert _count(client, User) == 0


@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 400]
)
def test_non_finite_and_huge_numbers(client, literal) -> None:
    auth = register(client)
    for path, template in [
        ("/sessions", b'{"size": %s}'),
        ("/questions", b'{"family": "conv_params", "seed": %s}'),
        ("/exams", b'{"count": %s}'),
        ("/profile", b'{"input_shape": [3, %s, 8], "layers": [{"type": "relu"}]}'),
    ]:
        r = client.post(path, content=template % literal, headers=auth | JSON)
        assert r.status_code == 422, (path, literal, r.text)
        assert "detail" in r.json()
    assert _count(client, StudySession) == 0


def test_profile_sizes_refused_before_building(client) -> None:
    for layer in [{"type": "conv2d", "out_channels": 10**9, "kernel_size": 3},
                  {"type": "conv2d", "out_channels": 0, "kernel_size": 3},
                  {"type": "conv2d", "out_channels": -1, "kernel_size": 3},
                  {"type": "linear", "out_features": 10**12}]:  # fmt: skip
        r = client.post("/profile", json={"input_shape": [3, 8, 8], "layers": [layer]})
        assert r.status_code == 422 and r.json()["detail"][0]["index"] == 0, layer


# Plain ".." is folded away by the HTTP client before sending; its encoded forms are not.
@pytest.mark.parametrize(
    "segment", ["%2E%2E", "..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", "x" * 10_000]
)
def test_hostile_path_segments(client, segment) -> None:
    auth = register(client)
    for path in [f"/cards/{segment}", f"/sessions/{segment}/next", f"/architectures/{segment}/profile",
                 f"/topics/{segment}/cards.md", f"/exams/{segment}", f"/questions/{segment}"]:  # fmt: skip
        r = client.get(path, headers=auth)
        assert 400 <= r.status_code < 500, (path[:60], r.status_code)
        if r.headers.get("content-type", "").startswith("application/json"):
            assert "detail" in r.json()
        assert "root:" not in r.text


HOSTILE = [
    "'); DROP TABLE user; --",
    "<script>alert('x')</script>",
    "Robert'); --",
    "\u202etxt.exe",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_stored_verbatim(client, text) -> None:
    r = client.post("/users", json={"name": text})
    assert r.status_code == 201 and r.json()["name"] == text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/users/me", headers=auth).json()["name"] == text
    note = f"What about {text}?\n{text}\n"
    imported = client.post("/notes/import", content=note.encode(), params={"topic": "hostile"},
                           headers=auth | {"content-type": "text/plain"}).json()  # fmt: skip
    assert imported["cards_added"] == 1
    card = client.get("/cards", params={"topic": "hostile"}, headers=auth).json()["data"][0]
    assert (card["front"], card["back"]) == (f"What about {text}?", text)
    assert client.get("/cards", params={"q": text}).json()["count"] == 0  # searched as text
    assert _count(client, User) == 1 and _count(client, CardRow) == 7 + 1


# --- text that cannot be stored, tokens that cannot be tokens (issue 15) --------------------


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/users", b'{"name": "a\\ud800b"}', ["body", "name"]),  # was a 500
        ("/users", b'{"name": "a\\uDFFF"}', ["body", "name"]),
        ("/users", b'{"name": "a\\u0000b"}', ["body", "name"]),
        ("/sessions", b'{"topics": ["alpha", "\\udc00"]}', ["body", "topics", 1]),
        ("/profile", b'{"input_shape": [3, 8, 8], "layers": [{"type": "relu\\ud83d"}]}',
         ["body", "layers", 0, "type"]),
        ("/exams", b'{"count": 1, "topics": ["\\ud800\\ud800"]}', ["body", "topics", 0]),
        ("/questions", b'{"family": "conv_params", "\\ud800": 1}', ["body", "\\ud800"]),
    ],
)  # fmt: skip
def test_lone_surrogates_and_nul_in_json_are_refused_naming_the_field(
    client, path, body, loc
) -> None:
    auth = register(client)
    users = _count(client, User)
    r = client.post(path, content=body, headers=auth | JSON)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == loc and error["type"] == "unencodable_text"
    assert _count(client, User) == users and _count(client, StudySession) == 0


def test_surrogate_pairs_and_escaped_backslashes_are_ordinary_text(client) -> None:
    r = client.post("/users", content=b'{"name": "a\\ud83d\\ude00 \\\\ud800"}', headers=JSON)
    assert r.status_code == 201 and r.json()["name"] == "a\U0001f600 \\ud800"


@pytest.mark.parametrize("query", ["q=%ED%A0%80", "q=%FF", "topic=%C3", "%FF=1"])
def test_query_strings_that_are_not_utf8_are_refused(client, query) -> None:
    # Starlette would silently turn them into U+FFFD; refusing says what happened.
    r = client.get(f"/cards?{query}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "query"
    assert client.get("/cards?q=%C3%A9").status_code == 200  # é, well formed


def test_notes_with_text_that_cannot_be_stored(client) -> None:
    auth = register(client)
    surrogate = "Q: a?\nA: \ud800\n".encode("utf-8", "surrogatepass")  # CESU-style bytes
    r = client.post("/notes/import", content=surrogate, params={"topic": "s"},
                    headers=auth | {"content-type": "text/plain"})  # fmt: skip
    assert r.status_code == 400 and "not valid UTF-8" in r.json()["detail"]
    assert _count(client, CardRow) == 7


@pytest.mark.parametrize("token", ["tökén".encode(), b"a b", b"x" * 257, b"\xff\xfe"])
def test_malformed_bearer_tokens_are_401_not_500(make_client, token) -> None:
    with make_client(admin_token="admin-secret", open_registration=False) as client:
        header = {"authorization": b"Bearer " + token}
        r = client.post("/users", json={"name": "x"}, headers=header)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        for path in ("/users/me", "/progress", "/cards"):
            r = client.get(path, headers=header)
            assert r.status_code == 401, path
        ok = client.post(
            "/users", json={"name": "y"}, headers={"authorization": "Bearer admin-secret"}
        )
        assert ok.status_code == 201 and _count(client, User) == 1


def test_pooling_padding_over_half_the_kernel_is_a_422_naming_the_field(client) -> None:
    for layer in [{"type": "maxpool2d", "kernel_size": 2, "dilation": 3, "padding": 2},  # was a 500
                  {"type": "avgpool2d", "kernel_size": 3, "padding": 2}]:  # fmt: skip
        r = client.post("/profile", json={"input_shape": [3, 32, 32], "layers": [layer]})
        assert r.status_code == 422, r.text
        (error,) = r.json()["detail"]
        assert error["loc"] == ["body", "layers", 0, "padding"]
        assert "more than half the kernel" in error["msg"]
