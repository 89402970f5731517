"""Bounded work per request (issue 15): every user-supplied size has a limit, note-level data
is stored once, each user has a quota, public heavy work is rate-limited and capped, and the
question generator's caches are out of clients' reach. The proofs of concept of the issue are
regression tests here."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.limits import RateLimit, Slots, limit_table
from api.refusals import TooMany
from api.settings import Settings
from api.store.imports import owned_topic_id
from api.tables import CardExample, CardRow, TopicRow

from .conftest import register

MD = {"content-type": "text/markdown"}
PLAIN = {"content-type": "text/plain"}
LIMITS_DOC = Path(__file__).resolve().parent.parent / "docs" / "limits.md"


def _imported(client) -> tuple[int, int, int]:
    """(card rows, bytes of their tags JSON, example rows) of imported cards."""
    owned = col(CardRow.owner_id).is_not(None)
    with Session(client.app.state.engine) as s:
        tags = s.exec(select(CardRow.tags).where(owned)).all()
        examples = s.exec(
            select(func.count()).select_from(CardExample).join(CardRow).where(owned)
        ).one()
    return len(tags), sum(len(json.dumps(t)) for t in tags), int(examples)


def _note(tags: list[str], cards: int, topic: str = "mine") -> str:
    body = "".join(f"Q: question {i}?\nA: answer {i}\n" for i in range(cards))
    return f"---\ntopic: {topic}\ntitle: Mine\ntags: {json.dumps(tags, ensure_ascii=False)}\n---\n{body}"


# --- note-level data stored once -----------------------------------------------------------


def test_the_tag_bomb_of_the_issue_is_refused_and_writes_nothing(client) -> None:
    # 148 KB: a long tags list in the front matter and 1,500 one-line cards. It grew the
    # database by 544 MiB (each card stored the whole list) and froze /health for 10 s.
    tags = ", ".join(f"tag-ÿ{i:05d}" for i in range(9_700))
    cards = "".join(f"Q: q{i}?\nA: a\n" for i in range(1_500))
    note = f"---\ntopic: tagbomb\ntitle: T\ntags: [{tags}]\n---\n{cards}"
    assert 140_000 < len(note.encode()) < 160_000
    r = client.post("/notes/import", content=note.encode(), headers=register(client) | MD)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["message"] == "the note names no valid topic"
    assert any("over the limit of 8,192" in e["message"] for e in detail["errors"])
    assert _imported(client) == (0, 0, 0)


def test_note_tags_are_stored_once_and_merged_on_read(client) -> None:
    auth = register(client)
    # The most a note may carry: 32 tags of 40 characters, non-ASCII (6 bytes each in JSON).
    tags = [f"{i:02d}" + "é" * 38 for i in range(32)]
    r = client.post("/notes/import", content=_note(tags, 2000).encode(), headers=auth | MD)
    assert r.status_code == 200 and r.json()["cards_added"] == 2000
    cards, tag_bytes, _ = _imported(client)
    assert (cards, tag_bytes) == (2000, 2 * 2000)  # "[]" on each card: nothing copied
    with Session(client.app.state.engine) as s:
        row = s.get(TopicRow, owned_topic_id(1, "mine"))
        assert row is not None and row.tags == tags and row.retired  # never listed as public
    assert "mine" not in {t["id"] for t in client.get("/topics").json()}
    listed = client.get("/cards", params={"topic": "mine", "limit": 3}, headers=auth).json()
    assert [c["tags"] for c in listed["data"]] == [tags] * 3
    assert client.get(f"/cards/{listed['data'][0]['id']}", headers=auth).json()["tags"] == tags
    sid = client.post("/sessions", json={"topics": ["mine"]}, headers=auth).json()["id"]
    assert client.get(f"/sessions/{sid}/next", headers=auth).json()["card"]["tags"] == tags
    md = client.get("/topics/mine/cards.md", headers=auth).text
    assert md.startswith("---\ntopic: mine\ntitle: Mine\ntags:\n- 00éé")  # title and tags kept
    # Public cards still show their topic's tags.
    public = client.get("/cards", params={"topic": "alpha"}).json()["data"]
    assert public and all(c["tags"] == ["convolution", "basics"] for c in public)


def test_reimporting_with_other_tags_changes_only_the_note_row(client) -> None:
    auth = register(client)
    client.post("/notes/import", content=_note(["a"], 3).encode(), headers=auth | MD)
    r = client.post("/notes/import", content=_note(["b", "c"], 3).encode(), headers=auth | MD)
    assert (r.json()["cards_unchanged"], r.json()["cards_updated"]) == (3, 0)
    data = client.get("/cards", params={"topic": "mine"}, headers=auth).json()["data"]
    assert {tuple(c["tags"]) for c in data} == {("b", "c")}


# --- errors, sizes, YAML --------------------------------------------------------------------


def test_junk_lines_get_a_bounded_error_list(client) -> None:
    # 800 KB of lines without a question: the answer was a 32 MB list of errors.
    junk = "".join(f"junk line {i} without a question mark\n" for i in range(23_000))[:800_000]
    r = client.post("/notes/import", content=junk.encode(), params={"topic": "junk"},
                    headers=register(client) | PLAIN)  # fmt: skip
    assert r.status_code == 422 and len(r.content) < 20_000
    detail = r.json()["detail"]
    assert len(detail["errors"]) == 50 and detail["errors_total"] > 20_000
    assert detail["errors"][0] == {
        "line": 1, "message": "text before the first question (a line ending in '?')"
    }  # fmt: skip
    assert _imported(client) == (0, 0, 0)


def test_errors_of_an_imported_note_are_listed_up_to_the_limit(client) -> None:
    note = "".join(f"Question {i}?\n" for i in range(120)) + "Last?\nanswer\n"
    r = client.post("/notes/import", content=note.encode(), params={"topic": "few"},
                    headers=register(client) | PLAIN)  # fmt: skip
    body = r.json()
    assert r.status_code == 200 and body["cards_added"] == 1
    assert (len(body["errors"]), body["errors_total"]) == (50, 120)


@pytest.mark.parametrize(
    ("front_matter", "needle"),
    [
        ("tags: " + "[" * 3000 + "]" * 3000, "nested deeper than 8 levels"),  # the issue's 500
        ("tags: " + "[" * 5000 + "]" * 5000, "over the limit of 8,192"),
        ("a: &a [x, x]\nb: [*a, *a]", "aliases (*name) are not allowed"),
        ("".join(f"k{i}: [{', '.join(['v'] * 20)}]\n" for i in range(13_000)), "over the limit"),
    ],
)
def test_hostile_front_matter_is_a_422_not_a_500(client, front_matter, needle) -> None:
    note = f"---\ntopic: t\ntitle: T\n{front_matter}\n---\nQ: a?\nA: b\n"
    r = client.post("/notes/import", content=note.encode(), headers=register(client) | MD)
    assert r.status_code in (200, 422), r.text
    errors = r.json()["detail"]["errors"] if r.status_code == 422 else r.json()["errors"]
    assert any(needle in e["message"] for e in errors), errors


def test_note_bytes_and_cards_per_import(make_client) -> None:
    with make_client(max_note_bytes=2048, max_import_cards=3) as client:
        auth = register(client)
        r = client.post("/notes/import", content=b"Q?\n" + b"a" * 2048, params={"topic": "t"},
                        headers=auth | PLAIN)  # fmt: skip
        assert r.status_code == 413 and "at most 2,048" in r.json()["detail"]
        r = client.post("/notes/import", content=_note([], 4).encode(), headers=auth | MD)
        assert (r.status_code, r.json()["detail"]) == (422, "4 cards: at most 3 per import")
        assert _imported(client) == (0, 0, 0)


def test_a_note_without_cards_leaves_nothing_behind(client) -> None:
    r = client.post("/notes/import", content=b"---\ntopic: empty\ntitle: E\n---\n# nothing\n",
                    headers=register(client) | MD)  # fmt: skip
    assert (
        r.status_code == 422 and r.json()["detail"]["message"] == "the note has no card to import"
    )
    with Session(client.app.state.engine) as s:
        assert s.get(TopicRow, owned_topic_id(1, "empty")) is None


# --- the per-user quota ---------------------------------------------------------------------


def test_quota_on_cards_counts_retired_ones(make_client) -> None:
    with make_client(user_max_cards=5) as client:
        auth = register(client)
        ok = client.post("/notes/import", content=_note([], 3, "one").encode(), headers=auth | MD)
        assert ok.status_code == 200
        r = client.post("/notes/import", content=_note([], 3, "two").encode(), headers=auth | MD)
        assert r.status_code == 413
        assert r.json()["detail"] == (
            "this import would bring your imported cards to 6, over your quota of 5 "
            "(retired cards count too)"
        )
        # Re-importing the same cards replaces them: within the quota.
        again = client.post(
            "/notes/import", content=_note([], 3, "one").encode(), headers=auth | MD
        )
        assert again.status_code == 200 and again.json()["cards_unchanged"] == 3
        # New wording retires the old cards, which still count.
        reworded = _note([], 3, "one").replace("question", "query")
        r = client.post("/notes/import", content=reworded.encode(), headers=auth | MD)
        assert r.status_code == 413 and "to 6," in r.json()["detail"]
        assert _imported(client)[0] == 3
        # Another user has a quota of their own.
        other = register(client, "bob")
        r = client.post("/notes/import", content=_note([], 3, "two").encode(), headers=other | MD)
        assert r.status_code == 200


def test_quota_on_bytes_counts_answers_and_examples(make_client) -> None:
    with make_client(user_max_bytes=4096) as client:
        auth = register(client)
        example = "\n```python example\nprint(1)\n```\n\n```output\n1\n```\n"
        small = f"---\ntopic: s\ntitle: S\n---\nQ: q?\nA: {'a' * 1000}\n{example}"
        assert (
            client.post("/notes/import", content=small.encode(), headers=auth | MD).status_code
            == 200
        )
        big = f"---\ntopic: b\ntitle: B\n---\nQ: q?\nA: {'é' * 1600}\n"  # 3,200 bytes
        r = client.post("/notes/import", content=big.encode(), headers=auth | MD)
        assert r.status_code == 413 and "over your quota of 4,096 bytes" in r.json()["detail"]
        used = 2 + 1000 + len("print(1)") + 1  # question, answer, example code and output
        assert f"to {used + 2 + 3200:,} bytes" in r.json()["detail"]


# --- rates and caps -------------------------------------------------------------------------


def test_imports_are_rate_limited_per_user(make_client) -> None:
    with make_client(import_burst=2, import_rate_per_minute=1) as client:
        auth, other = register(client), register(client, "bob")
        for _ in range(2):
            r = client.post("/notes/import", content=_note([], 1).encode(), headers=auth | MD)
            assert r.status_code == 200
        r = client.post("/notes/import", content=_note([], 1).encode(), headers=auth | MD)
        wait = int(r.headers["retry-after"])  # a token a minute
        assert r.status_code == 429 and 30 <= wait <= 60
        assert r.json()["detail"] == f"too many imports; retry after {wait} s"
        assert (
            client.post(
                "/notes/import", content=_note([], 1).encode(), headers=other | MD
            ).status_code
            == 200
        )


def test_one_import_at_a_time_per_user(client) -> None:
    """The rule holds across server processes: another process's running import is a lease
    row in the database, and this process refuses the user's next import while it lives."""
    from sqlmodel import Session

    from api.db import utcnow
    from api.store.uploads import end_lease, take_lease

    auth = register(client)
    client.post("/notes/import", content=_note([], 1).encode(), headers=auth | MD)
    now = utcnow()
    with Session(client.app.state.engine) as s:  # as if another process were importing
        take_lease(s, 1, "notes", "elsewhere", now, now + timedelta(minutes=5))
    r = client.post("/notes/import", content=_note([], 1).encode(), headers=auth | MD)
    assert r.status_code == 429 and "still running" in r.json()["detail"]
    with Session(client.app.state.engine) as s:
        end_lease(s, 1, "notes", "elsewhere")
    r = client.post("/notes/import", content=_note([], 1).encode(), headers=auth | MD)
    assert r.status_code == 200


def test_rate_limit_refills_and_forgets_old_clients() -> None:
    rate = RateLimit(per_minute=60, burst=2, max_keys=2)
    assert [rate.wait_s("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert rate.wait_s("a", now=1.0) == 0.0  # one token a second
    rate.wait_s("b", now=1.0)
    rate.wait_s("c", now=1.0)  # "a" is forgotten: bounded memory
    assert rate.wait_s("a", now=1.0) == 0.0


def test_slots_refuse_rather_than_queue() -> None:
    async def scenario() -> None:
        slots = Slots(1, "uncached profiles")
        async with slots.hold():
            with pytest.raises(TooMany) as exc:
                async with slots.hold():
                    pass
            assert exc.value.status == 429 and exc.value.headers == {"Retry-After": "2"}
            assert exc.value.detail == "1 uncached profiles already running; retry after 2 s"
        async with slots.hold():
            assert slots.busy == 1
        assert slots.busy == 0

    anyio.run(scenario)


PROFILE = {
    "input_shape": [3, 16, 16],
    "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3}],
}


def test_uncached_profiles_are_rate_limited_per_client(make_client) -> None:
    from api.limits import _with_models_loaded

    # torch loads first, outside the count: on a loaded machine its import alone can take
    # over the 10 s in which a token refills, and the fourth request would then be served.
    _with_models_loaded(lambda: None)
    with make_client(profile_burst=3, profile_rate_per_minute=6) as client:
        assert [client.post("/profile", json=PROFILE).status_code for _ in range(3)] == [200] * 3
        r = client.post("/profile", json=PROFILE)
        wait = int(r.headers["retry-after"])  # a token every 10 s, some already refilled
        assert r.status_code == 429 and 1 <= wait <= 10
        assert r.json() == {
            "detail": f"too many uncached profiles from this address; retry after {wait} s"
        }


def test_cached_architecture_profiles_cost_no_token(make_client) -> None:
    with make_client(profile_burst=1, profile_rate_per_minute=1) as client:
        first = client.get("/architectures/squeezenet1_1/profile", params={"batch": 3})
        assert first.status_code == 200
        for _ in range(3):
            again = client.get("/architectures/squeezenet1_1/profile", params={"batch": 3})
            assert again.status_code == 200 and again.content == first.content
        r = client.get("/architectures/squeezenet1_1/profile", params={"batch": 4})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_clients_never_evict_the_question_generators_profiles(make_client) -> None:
    from models import profile_architecture
    from models.profiler import _profile_cached

    profile_architecture("squeezenet1_1")  # what the question families read
    before = _profile_cached.cache_info()
    with make_client(profile_burst=1000, profile_rate_per_minute=1000) as client:
        for batch in range(1, 6):
            for dtype in ("float32", "float16"):
                r = client.get("/architectures/squeezenet1_1/profile",
                               params={"batch": batch, "dtype": dtype})  # fmt: skip
                assert r.status_code == 200
    after = _profile_cached.cache_info()
    assert (after.currsize, after.misses) == (before.currsize, before.misses)


# --- docs/limits.md states every limit -------------------------------------------------------


def test_the_limits_page_lists_every_limit_with_its_value() -> None:
    section = LIMITS_DOC.read_text()
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| what")
    ]
    expected = [
        [row.what, row.value, f"`{row.setting}`" if row.setting else "—", row.answer]
        for row in limit_table(Settings())
    ]
    expected = [[re.sub(r", FLOPCARDS_", "`, `FLOPCARDS_", c) for c in row] for row in expected]
    assert rows == expected


def test_registrations_are_limited_per_client_behind_a_trusted_proxy(db_url) -> None:
    """POST /users creates accounts, each with its own per-user limits (wrong join codes,
    imports): unlimited, one client would lift them all. A burst per client address, then a
    rate; the address is the one a trusted proxy forwards for, and a header from anyone else
    changes nothing. The admin token's registrations are not counted."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.tables import User

    settings = Settings(
        database_url=db_url, run_examples=False, warm_up=False, admin_token="admin-secret",
        register_burst=3, register_rate_per_minute=1, forwarded_allow_ips="10.0.0.9",
    )  # fmt: skip
    app = create_app(settings)

    def users() -> int:
        with Session(app.state.engine) as s:
            return len(s.exec(select(User.id)).all())

    def join(client: TestClient, forwarded: str | None = None) -> int:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return client.post("/users", json={"name": "x"}, headers=headers).status_code

    with TestClient(app, client=("10.0.0.9", 5000)) as proxy:  # the trusted proxy
        assert [join(proxy, "192.0.2.1") for _ in range(4)] == [201, 201, 201, 429]
        r = proxy.post("/users", json={"name": "x"}, headers={"X-Forwarded-For": "192.0.2.1"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "too many registrations" in r.json()["detail"]
        assert join(proxy, "192.0.2.2") == 201  # another client behind the proxy: its own bucket
        admin = {"Authorization": "Bearer admin-secret", "X-Forwarded-For": "192.0.2.1"}
        assert proxy.post("/users", json={"name": "a"}, headers=admin).status_code == 201
        assert users() == 5
    with TestClient(app, client=("198.51.100.7", 5000)) as direct:  # not a trusted proxy
        spoofed = [join(direct, f"203.0.113.{n}") for n in range(4)]
        assert spoofed == [201, 201, 201, 429]  # a new X-Forwarded-For each time: one bucket
        assert users() == 8


def test_an_ipv6_client_is_its_64_network_for_every_per_address_limit(db_url) -> None:
    """One IPv6 host holds a whole /64: a new source address per request must not be a new
    bucket. Another /64 is another client; ::ffff:a.b.c.d is the IPv4 client a.b.c.d."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    settings = Settings(database_url=db_url, run_examples=False, warm_up=False,
                        register_burst=2, register_rate_per_minute=1)  # fmt: skip
    app = create_app(settings)

    def register_from(host: str) -> int:
        with TestClient(app, client=(host, 5000)) as c:
            return c.post("/users", json={"name": "x"}).status_code

    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:abcd:1:2:3"]
    assert [register_from(h) for h in same_64] == [201, 201, 429]
    assert register_from("2001:db8:1:3::1") == 201  # the next /64: another client
    assert [register_from(h) for h in ("192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1")] == [
        201, 201, 429]  # fmt: skip
