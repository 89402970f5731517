"""LTI 1.3 against an independent platform (``lti1p3platform``, on loopback): registration,
login, launch, deep linking, grades back through the outbox, the roster, and every refusal.

The "browser" is the TestClient (it keeps the tool's state cookie); the LMS is
``tests.lti_platform.Platform``, whose library signs the launches and checks what the tool
signs (deep linking responses, client assertions) against the tool's published keys.
"""

from __future__ import annotations

import html
import re
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from sqlalchemy import text
from sqlmodel import Session

from api.security import hash_token
from api.services.questions import variant

from .lti_platform import INSTRUCTOR, LEARNER, LTI, Launch, Platform, rsa_pem

ADMIN = {"Authorization": "Bearer admin-secret"}
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LTI_SETTINGS = {
    "admin_token": "admin-secret",
    "lti_outbox_interval_s": 0.1,
    "lti_retry_base_s": 0.2,
    "lti_retry_max_s": 1.0,
    "lti_http_timeout_s": 2.0,
}
COUNTED = ("user", "lti_user", "course", "course_member", "lti_launch", "lti_code", "lti_nonce")


@pytest.fixture
def lms():
    platform = Platform()
    platform.start()
    yield platform
    platform.stop()


def _register(client, lms: Platform) -> None:
    r = client.post("/lti/platforms", json=lms.registration_fields(), headers=ADMIN)
    assert r.status_code == 201, r.text
    lms.live_conf = lms.conf(client.get("/lti/jwks").json())


def _login(client, lms: Platform, sub: str, deployment: str | None = None) -> dict[str, str]:
    """The LMS starts a launch at the tool's login URL; the tool redirects to the LMS."""
    params = {
        "iss": lms.issuer,
        "login_hint": sub,
        "target_link_uri": "http://testserver/lti/launch",
        "lti_message_hint": "link-1",
        "client_id": lms.client_id,
        "lti_deployment_id": deployment or lms.deployment_id,
    }
    r = client.get("/lti/login", params=params, follow_redirects=False)
    assert r.status_code == 302, r.text
    url = urlsplit(r.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == lms.url("/auth")
    return dict(parse_qsl(url.query))


def _id_token(
    client,
    lms: Platform,
    sub: str,
    roles: list[str],
    name: str = "Ada Lovelace",
    custom: dict | None = None,
    lineitem: str | None = None,
    deep_link: bool = False,
    nrps: bool = False,
    tamper: dict | None = None,
    expiration: int | None = None,
) -> dict:
    """Log in and have the LMS's library build and sign the launch: {id_token, state, …}."""
    auth = _login(client, lms, sub)
    message = Launch(auth, lms.live_conf, tamper)
    message.set_user_data(sub, roles, full_name=name, email_address=f"{sub}@example.edu")
    message.set_launch_context_claim("course-1", context_title="Efficient CNNs")
    message.set_resource_link_claim("link-1", title="Quiz")
    if custom:
        message.set_custom_parameters_claim(custom)
    if lineitem:
        message.set_ags(lms.url("/lineitems"), lms.url(f"/lineitems/{lineitem}"))
    if nrps:
        message.set_nrps(lms.url("/memberships?limit=2"))
    if deep_link:
        message.set_dl(lms.url("/deep-link-return"), extra_data={"return": "opaque"})
    if expiration is not None:
        message.set_id_token_expiration(expiration)
    return message.lti_launch()


def _post(client, data: dict):
    return client.post(
        "/lti/launch",
        data={"id_token": data["id_token"], "state": data["state"]},
        follow_redirects=False,
    )


def _session(client, response) -> dict:
    assert response.status_code == 303, response.text
    code = dict(parse_qsl(urlsplit(response.headers["location"]).query))["lti_code"]
    r = client.post("/lti/session", json={"code": code})
    assert r.status_code == 200, r.text
    return r.json()


def _counts(client) -> dict[str, int]:
    with Session(client.app.state.engine) as s:
        return {t: s.exec(text(f'SELECT count(*) FROM "{t}"')).one()[0] for t in COUNTED}


def _wait(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _deep_link_and_learner(client, lms: Platform) -> tuple[dict, dict, dict]:
    """Instructor deep-links a new assessment; a learner launches it. Returns the
    instructor's and learner's sessions and the content item the LMS kept."""
    teacher = _session(
        client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR], "Grace", deep_link=True))
    )
    assert teacher["message_type"] == "LtiDeepLinkingRequest" and teacher["role"] == "instructor"
    auth = {"Authorization": f"Bearer {teacher['token']}"}
    course = client.get(f"/courses/{teacher['course_id']}", headers=auth).json()
    assert course["title"] == "Efficient CNNs" and course["role"] == "instructor"
    body = {"title": "Quiz 1", "families": ["conv_params"], "count": 2}
    quiz = client.post(f"/courses/{teacher['course_id']}/assessments", json=body, headers=auth)
    assert quiz.status_code == 201, quiz.text
    quiz_id = quiz.json()["id"]
    form = client.post(
        "/lti/deep-link", json={"launch_id": teacher["launch_id"], "assessment_id": quiz_id},
        headers=auth,
    )  # fmt: skip
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    assert f'action="{lms.url("/deep-link-return")}"' in form.text
    token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', form.text).group(1))
    # The LMS checks the response against the tool's published key and keeps the link.
    (item,) = lms.live_conf.validate_deeplinking_resp({"JWT": token})
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"assessment_id": str(quiz_id)}
    assert item["lineItem"]["scoreMaximum"] == 2.0
    assert item["lineItem"]["resourceId"] == str(quiz_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == lms.issuer and claims["iss"] == lms.client_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == {"return": "opaque"}
    learner = _session(
        client,
        _post(
            client,
            _id_token(
                client,
                lms,
                "s-1",
                [LEARNER],
                "Ada",
                custom=item["custom"],
                lineitem=f"li-{quiz_id}",
            ),
        ),  # fmt: skip
    )
    assert learner["assessment_id"] == quiz_id and learner["course_id"] == teacher["course_id"]
    assert learner["role"] == "student" and learner["name"] == "Ada"
    return teacher, learner, item


def _answer_first(client, learner: dict) -> tuple[dict, dict]:
    """The learner starts their copy and answers its first question right."""
    auth = {"Authorization": f"Bearer {learner['token']}"}
    exam = client.post(f"/assessments/{learner['assessment_id']}/start", headers=auth)
    assert exam.status_code == 200, exam.text
    exam = exam.json()
    first = exam["questions"][0]
    with Session(client.app.state.engine) as s:
        row = s.exec(
            text("SELECT family, seed, difficulty FROM question_instance WHERE id = :i"),
            params={"i": first["id"]},
        ).one()
    return exam, {str(first["id"]): variant(row.family, row.seed, row.difficulty).expected()[1]}


def test_deep_link_launch_submit_and_the_score_reaches_the_lms(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher, learner, _item = _deep_link_and_learner(client, lms)
        exam, answers = _answer_first(client, learner)
        auth = {"Authorization": f"Bearer {learner['token']}"}
        r = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["score"] == 1.0 and r.json()["max_score"] == 2.0
        line = f"li-{learner['assessment_id']}"
        (score,) = _wait(lambda: lms.scores.get(line))
        assert score["userId"] == "s-1"
        assert score["scoreGiven"] == 1.0 and score["scoreMaximum"] == 2.0
        assert score["activityProgress"] == "Completed"
        assert score["gradingProgress"] == "FullyGraded" and score["timestamp"]
        # The access token came with a client assertion naming the token URL (the test
        # LMS refuses any other audience) and asking for the score scope.
        assert (
            lms.token_requests[0]["scope"] == "https://purl.imsglobal.org/spec/lti-ags/scope/score"
        )
        # One final score per student and line item: nothing more is sent.
        time.sleep(0.5)
        assert len(lms.scores[line]) == 1
        grades = client.get(
            f"/courses/{teacher['course_id']}/lti/grades",
            headers={"Authorization": f"Bearer {teacher['token']}"},
        ).json()
        (row,) = grades
        assert row["state"] == "sent" and row["score_given"] == 1.0 and row["attempts"] == 0
        # The learner's account is the platform's (issuer, sub), not matched by email.
        again = _session(
            client,
            _post(
                client,
                _id_token(
                    client, lms, "s-1", [LEARNER], "Ada L.", custom=_item["custom"], lineitem=line
                ),
            ),  # fmt: skip
        )
        assert again["user_id"] == learner["user_id"] and again["name"] == "Ada L."


def test_a_platform_down_at_submission_gets_the_score_once_back(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher, learner, _item = _deep_link_and_learner(client, lms)
        exam, answers = _answer_first(client, learner)
        lms.stop()  # the LMS is unreachable when the student submits
        auth = {"Authorization": f"Bearer {learner['token']}"}
        r = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        assert r.status_code == 200, r.text
        teacher_auth = {"Authorization": f"Bearer {teacher['token']}"}
        grades = f"/courses/{teacher['course_id']}/lti/grades"
        row = _wait(
            lambda: next(
                (g for g in client.get(grades, headers=teacher_auth).json() if g["attempts"] >= 2),
                None,
            )
        )
        assert row["state"] == "pending" and "unreachable" in row["last_error"]
        book = client.get(f"/courses/{teacher['course_id']}/gradebook", headers=teacher_auth)
        (entry,) = [e for e in book.json()["rows"] if e["status"] == "submitted"]
        assert entry["lms"] == "pending"
    # The service restarts; the LMS comes back (and first answers 503 once more).
    lms.failing = 1
    lms.start()
    with make_client(**LTI_SETTINGS) as client:
        line = f"li-{learner['assessment_id']}"
        (score,) = _wait(lambda: lms.scores.get(line))
        assert score["userId"] == "s-1" and score["scoreGiven"] == 1.0
        _wait(lambda: client.get(grades, headers=teacher_auth).json()[0]["state"] == "sent")
        time.sleep(0.3)
        assert len(lms.scores[line]) == 1


def test_refused_launches_create_nothing(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        # A learner before any instructor: the course does not exist yet.
        before = _counts(client)
        r = _post(client, _id_token(client, lms, "s-9", [LEARNER]))
        assert r.status_code == 409 and "instructor opens the tool" in r.text
        assert _counts(client) == before

        good = _id_token(client, lms, "t-1", [INSTRUCTOR])
        other_private, _ = rsa_pem()
        header = jwt.get_unverified_header(good["id_token"])
        forged = jwt.encode(
            jwt.decode(good["id_token"], options={"verify_signature": False}),
            other_private, algorithm="RS256", headers={"kid": header["kid"]},
        )  # fmt: skip
        cases = {
            "bad signature": ({**good, "id_token": forged}, 400, "signature does not verify"),
            "expired": (_id_token(client, lms, "t-1", [INSTRUCTOR], expiration=-300), 400,
                        "expired"),
            "wrong audience": (_id_token(client, lms, "t-1", [INSTRUCTOR],
                                         tamper={"aud": "other-tool", "azp": "other-tool"}),
                               400, "audience"),
            "unknown deployment": (_id_token(client, lms, "t-1", [INSTRUCTOR],
                                             tamper={LTI + "deployment_id": "dep-x"}),
                                   400, "deployment 'dep-x' is not registered"),
            "wrong state": ({**good, "state": "not-the-state"}, 401, "state"),
            "wrong version": (_id_token(client, lms, "t-1", [INSTRUCTOR],
                                        tamper={LTI + "version": "1.1"}), 400, "1.3.0"),
            "wrong message type": (_id_token(client, lms, "t-1", [INSTRUCTOR],
                                             tamper={LTI + "message_type": "LtiSubmissionReview"}),
                                   400, "not supported"),
        }  # fmt: skip
        for name, (data, status, reason) in cases.items():
            r = _post(client, data)
            assert r.status_code == status, (name, r.status_code, r.text)
            assert reason in html.unescape(r.text), (name, r.text)
            assert _counts(client) == before, name

        # The genuine launch works once; replaying it (same token, same state) is refused.
        ok = _post(client, good)
        assert ok.status_code == 303
        after = _counts(client)
        assert after["lti_launch"] == 1 and after["course"] == before["course"] + 1
        replay = _post(client, good)  # the launch spent the browser's state cookie
        assert replay.status_code == 401 and "state does not belong" in replay.text
        # Even with the cookie put back (a captured request), the state is used up.
        cookie = "lti_state_" + hash_token(good["state"])[:32]
        client.cookies.set(cookie, good["state"], domain="testserver.local", path="/lti")
        replay = _post(client, good)
        assert replay.status_code == 400 and "state is unknown, used or expired" in replay.text
        # Its nonce under a fresh login's state: refused too.
        fresh = _login(client, lms, "t-1")
        replay = _post(client, {"id_token": good["id_token"], "state": fresh["state"]})
        assert replay.status_code == 400 and "nonce" in replay.text
        assert _counts(client) == after
        # A one-time code works once.
        code = dict(parse_qsl(urlsplit(ok.headers["location"]).query))["lti_code"]
        assert client.post("/lti/session", json={"code": code}).status_code == 200
        assert client.post("/lti/session", json={"code": code}).status_code == 404


def test_registration_config_keys_and_roster(make_client, lms, tmp_path) -> None:
    with make_client(**LTI_SETTINGS) as client:
        fields = lms.registration_fields()
        assert client.post("/lti/platforms", json=fields).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/lti/platforms", json=fields, headers=wrong).status_code == 401
        assert client.get("/lti/platforms").status_code == 401
        bad = fields | {"keyset_url": "file:///etc/passwd"}
        assert client.post("/lti/platforms", json=bad, headers=ADMIN).status_code == 422
        _register(client, lms)
        more = fields | {"deployment_id": "dep-2"}
        r = client.post("/lti/platforms", json=more, headers=ADMIN)
        assert r.status_code == 200 and r.json()["deployment_ids"] == ["dep-1", "dep-2"]
        (listed,) = client.get("/lti/platforms", headers=ADMIN).json()
        assert listed["issuer"] == lms.issuer and listed["token_url"] == lms.url("/token")
        config = client.get("/lti/config").json()
        assert config["oidc_initiation_url"] == "http://testserver/lti/login"
        assert config["redirect_uris"] == ["http://testserver/lti/launch"]
        assert config["jwks_url"] == "http://testserver/lti/jwks"
        (key,) = client.get("/lti/jwks").json()["keys"]
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key
        # The login redirect carries every parameter the OIDC flow needs.
        auth = _login(client, lms, "t-1")
        assert auth["scope"] == "openid" and auth["response_type"] == "id_token"
        assert auth["response_mode"] == "form_post" and auth["prompt"] == "none"
        assert auth["client_id"] == lms.client_id and auth["login_hint"] == "t-1"
        assert auth["redirect_uri"] == "http://testserver/lti/launch"
        assert auth["lti_message_hint"] == "link-1" and auth["state"] and auth["nonce"]
        r = client.post("/lti/login", data={"iss": "http://elsewhere", "login_hint": "x",
                                            "target_link_uri": "http://testserver/lti/launch"},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 400 and "no platform registered" in r.text

        # Roster: two pages of members from the LMS (Link: rel="next").
        teacher = _session(client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR],
                                                           "Grace", nrps=True)))  # fmt: skip
        lms.members = [
            {"user_id": "t-1", "roles": [INSTRUCTOR], "name": "Grace"},
            {"user_id": "s-1", "roles": [LEARNER], "name": "Ada"},
            {"user_id": "s-2", "roles": [LEARNER], "name": "Alan"},
        ]
        auth_t = {"Authorization": f"Bearer {teacher['token']}"}
        r = client.post(f"/courses/{teacher['course_id']}/lti/roster", headers=auth_t)
        assert r.status_code == 200, r.text
        assert r.json() == {"members": 3, "added": 2, "existing": 1}
        members = client.get(f"/courses/{teacher['course_id']}/members", headers=auth_t).json()
        assert sorted((m["name"], m["role"]) for m in members) == [
            ("Ada", "student"), ("Alan", "student"), ("Grace", "instructor")]  # fmt: skip
        again = client.post(f"/courses/{teacher['course_id']}/lti/roster", headers=auth_t)
        assert again.json() == {"members": 3, "added": 0, "existing": 3}


def test_the_study_page_is_framed_by_registered_lms_only(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS, lti_frame_ancestors="https://*.instructure.com") as client:
        policy = client.get("/").headers["content-security-policy"]
        assert "frame-ancestors 'self' https://*.instructure.com" in policy
        _register(client, lms)
        policy = client.get("/").headers["content-security-policy"]
        assert f"frame-ancestors 'self' {lms.issuer} https://*.instructure.com" in policy
        # The docs and other pages are never framed.
        assert "frame-ancestors 'none'" in client.get("/docs").headers["content-security-policy"]


def test_the_page_places_an_assessment_with_a_plain_form(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher = _session(
            client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR], deep_link=True))
        )
        auth = {"Authorization": f"Bearer {teacher['token']}"}
        body = {"title": "Quiz 2", "families": ["conv_params"], "count": 3}
        quiz = client.post(f"/courses/{teacher['course_id']}/assessments", json=body, headers=auth)
        fields = {"launch_id": teacher["launch_id"], "assessment_id": quiz.json()["id"]}
        bad = client.post("/lti/deep-link/form", data=fields | {"access_token": "not-a-token"})
        assert bad.status_code == 401
        page = client.post("/lti/deep-link/form", data=fields | {"access_token": teacher["token"]})
        assert page.status_code == 200, page.text
        token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', page.text).group(1))
        (item,) = lms.live_conf.validate_deeplinking_resp({"JWT": token})
        assert item["lineItem"]["scoreMaximum"] == 3.0
        # A student, or a launch that is not a deep linking request, cannot place anything.
        learner_launch = _post(client, _id_token(client, lms, "s-1", [LEARNER]))
        learner = _session(client, learner_launch)
        r = client.post(
            "/lti/deep-link", json=fields, headers={"Authorization": f"Bearer {learner['token']}"}
        )
        assert r.status_code == 404  # not their launch
        plain = _session(client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR])))
        r = client.post(
            "/lti/deep-link",
            json={"launch_id": plain["launch_id"], "assessment_id": quiz.json()["id"]},
            headers=auth,
        )
        assert r.status_code == 409 and "not a deep linking request" in r.text


def test_rotate_key_keeps_publishing_the_old_key(make_client, lms, db_url) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    with make_client(**LTI_SETTINGS) as client:
        (old,) = client.get("/lti/jwks").json()["keys"]
    env = {"FLOPCARDS_DATABASE_URL": db_url}
    result = CliRunner().invoke(cli, ["lti", "rotate-key"], env=env)
    assert result.exit_code == 0, result.output
    args = ["lti", "add-platform", "--issuer", lms.issuer, "--client-id", lms.client_id,
            "--deployment-id", lms.deployment_id, "--deployment-id", "dep-2",
            "--auth-login-url", lms.url("/auth"), "--token-url", lms.url("/token"),
            "--keyset-url", lms.url("/jwks")]  # fmt: skip
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0 and "deployments dep-1, dep-2" in result.output, result.output
    with make_client(**LTI_SETTINGS) as client:
        keys = client.get("/lti/jwks").json()["keys"]
        assert [k["kid"] for k in keys][1:] == [old["kid"]] and len(keys) == 2
        new_kid = keys[0]["kid"]
        lms.live_conf = lms.conf(client.get("/lti/jwks").json())
        teacher = _session(
            client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR], deep_link=True))
        )
        auth = {"Authorization": f"Bearer {teacher['token']}"}
        body = {"title": "Quiz", "families": ["conv_params"], "count": 1}
        quiz = client.post(f"/courses/{teacher['course_id']}/assessments", json=body, headers=auth)
        r = client.post(
            "/lti/deep-link?format=json",
            json={"launch_id": teacher["launch_id"], "assessment_id": quiz.json()["id"]},
            headers=auth,
        )
        assert jwt.get_unverified_header(r.json()["jwt"])["kid"] == new_kid
        assert lms.live_conf.validate_deeplinking_resp({"JWT": r.json()["jwt"]})


def test_racing_launches_of_one_login_make_one_launch(make_client, lms) -> None:
    """The same verified launch kept twice at once (a double-clicked form, a replay racing
    the original): the state's conditional delete and the nonce's unique key let exactly
    one through, on either engine."""
    from concurrent.futures import ThreadPoolExecutor

    from api.db import utcnow
    from api.services.lti import verify_launch
    from api.store import Conflict
    from api.store import lti as store

    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        _session(client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR])))
        data = _id_token(client, lms, "s-1", [LEARNER])
        db = client.app.state.db
        state_hash = hash_token(data["state"])
        login = db.call(store.login_for, state_hash, utcnow())
        platform = db.call(store.platform_by_id, login.platform_id)
        key = client.app.state.lti_keysets.key_for(platform.keyset_url, data["id_token"])
        launch = verify_launch(data["id_token"], key, platform.issuer, platform.client_id,
                               login.nonce, set(platform.deployments))  # fmt: skip
        before = _counts(client)

        def keep(n: int):
            try:
                return db.call(store.record_launch, platform.id, platform.issuer, state_hash,
                               launch, f"code-{n}", utcnow(), utcnow())  # fmt: skip
            except Conflict as exc:
                return exc

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(keep, range(4)))
        kept = [r for r in results if not isinstance(r, Exception)]
        assert len(kept) == 1 and all(isinstance(r, Conflict) for r in results if r not in kept)
        after = _counts(client)
        assert after["lti_launch"] == before["lti_launch"] + 1
        assert after["lti_user"] == before["lti_user"] + 1


def test_a_final_score_that_changes_is_sent_again_and_only_then(make_client, lms) -> None:
    """An override or regrade announces the copy's new final score (``api.services.grade_events``);
    the LMS gets it as the student's latest score. The same score announced again is not
    sent twice."""
    import anyio

    from api.db import utcnow
    from api.services.grade_events import ScoreChange

    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        _teacher, learner, _item = _deep_link_and_learner(client, lms)
        exam, answers = _answer_first(client, learner)
        auth = {"Authorization": f"Bearer {learner['token']}"}
        client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        line = f"li-{learner['assessment_id']}"
        _wait(lambda: lms.scores.get(line))
        events, db = client.app.state.grade_events, client.app.state.db

        def announce(score: float, reason: str) -> None:
            with Session(client.app.state.engine) as s:  # what an override commits
                s.exec(text("UPDATE exam SET score = :s WHERE id = :i"),
                       params={"s": score, "i": exam["id"]})  # fmt: skip
                s.commit()
            change = ScoreChange(exam["id"], learner["assessment_id"], learner["user_id"],
                                 score, 2.0, utcnow(), reason)  # fmt: skip
            anyio.run(events.publish, db, [change])

        announce(1.0, "submitted")  # the submission's own announcement: already queued
        time.sleep(0.5)
        assert len(lms.scores[line]) == 1
        announce(2.0, "overridden")
        _wait(lambda: len(lms.scores[line]) == 2)
        latest = lms.scores[line][-1]
        assert latest["scoreGiven"] == 2.0 and latest["userId"] == "s-1"
        assert latest["timestamp"] > lms.scores[line][0]["timestamp"]
        time.sleep(0.5)
        assert len(lms.scores[line]) == 2


def test_an_override_through_the_api_reaches_the_lms(make_client, lms) -> None:
    """An instructor's override (``PATCH …/items/{position}``) writes the copy's new final
    score to the outbox in the override's own transaction; the LMS gets it once."""
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher, learner, _item = _deep_link_and_learner(client, lms)
        exam, answers = _answer_first(client, learner)
        auth = {"Authorization": f"Bearer {learner['token']}"}
        done = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        assert done.status_code == 200, done.text
        line = f"li-{learner['assessment_id']}"
        _wait(lambda: lms.scores.get(line))
        first = lms.scores[line][0]["scoreGiven"]
        boss = {"Authorization": f"Bearer {teacher['token']}"}
        path = f"/assessments/{learner['assessment_id']}/attempts/{learner['user_id']}/items/1"
        r = client.patch(path, json={"score": 1.0, "comment": "method right"}, headers=boss)
        assert r.status_code == 200, r.text
        _wait(lambda: len(lms.scores[line]) == 2)
        assert lms.scores[line][-1]["scoreGiven"] == first + 1.0
        time.sleep(0.5)
        assert len(lms.scores[line]) == 2  # the after-commit announcement adds nothing


LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        # The context roles decide: a teacher elsewhere (institution role) who is a Learner
        # here, and the Learner sub-role "Instructor", are students of this course.
        ([LEARNER, LIS + "institution/person#Instructor"], "student"),
        ([LIS + "membership/Learner#Instructor"], "student"),
        ([LEARNER, LIS + "institution/person#Administrator"], "student"),
        ([LEARNER, LIS + "system/person#Administrator"], "student"),
        (["Learner"], "student"),
        ([LIS + "membership/Instructor#TeachingAssistant"], "instructor"),
        ([LIS + "membership#Administrator"], "instructor"),
        (["Instructor"], "instructor"),
        ([LIS + "institution/person#Administrator"], "instructor"),  # no role in the course
        ([LIS + "institution/person#Instructor"], None),
        (["http://example.com/roles#Instructor"], None),  # not the LIS vocabulary
        ([LIS + "membership#Mentor"], None),
        ("Instructor", None),
    ],
)
def test_roles_map_by_the_course_role(roles, role) -> None:
    from api.services.lti import role_of

    assert role_of(roles) == role


def test_a_learner_who_teaches_elsewhere_is_a_student_here(make_client, lms) -> None:
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher = _session(client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR])))
        roles = [
            LEARNER,
            LIS + "institution/person#Instructor",
            LIS + "membership/Learner#Instructor",
        ]
        learner = _session(client, _post(client, _id_token(client, lms, "s-1", roles)))
        assert learner["role"] == "student" and learner["course_id"] == teacher["course_id"]
        auth = {"Authorization": f"Bearer {learner['token']}"}
        course = client.get(f"/courses/{learner['course_id']}", headers=auth).json()
        assert course["role"] == "student"
        body = {"title": "Mine", "families": ["conv_params"], "count": 1}
        r = client.post(f"/courses/{learner['course_id']}/assessments", json=body, headers=auth)
        assert r.status_code == 403


def test_a_platform_that_rotates_its_key_is_refetched_at_once(make_client, lms) -> None:
    """The platform's key set is cached; a launch signed by a key it does not hold (the LMS
    rotated its key a moment after the tool fetched the set) makes the tool fetch it again
    at once, and the launch goes through. The old key then no longer verifies."""
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        first = _id_token(client, lms, "t-1", [INSTRUCTOR])
        assert _post(client, first).status_code == 303  # the key set is fetched and cached
        old_kid = jwt.get_unverified_header(first["id_token"])["kid"]
        old_private = lms.private_pem
        lms.private_pem, lms.public_pem = rsa_pem()  # the LMS rotates its key
        lms.live_conf = lms.conf(client.get("/lti/jwks").json())
        rotated = _id_token(client, lms, "t-1", [INSTRUCTOR])
        assert jwt.get_unverified_header(rotated["id_token"])["kid"] != old_kid
        r = _post(client, rotated)
        assert r.status_code == 303, r.text
        assert _session(client, r)["role"] == "instructor"
        stale = _id_token(client, lms, "t-1", [INSTRUCTOR])
        claims = jwt.decode(stale["id_token"], options={"verify_signature": False})
        # Signed by the retired key: the LMS no longer publishes it.
        forged = jwt.encode(claims, old_private, algorithm="RS256", headers={"kid": old_kid})
        r = _post(client, {**stale, "id_token": forged})
        assert r.status_code == 400 and "no key of the platform's key set" in html.unescape(r.text)
        # Made-up kids (a refused launch leaves its login usable): the key set is fetched
        # again at most once a second, not once per request.
        fetches = lms.jwks_fetches
        for n in range(6):
            made_up = jwt.encode(claims, lms.private_pem, algorithm="RS256",
                                 headers={"kid": f"made-up-{n}"})  # fmt: skip
            r = _post(client, {**stale, "id_token": made_up})
            assert r.status_code == 400 and "made-up" in html.unescape(r.text)
        assert lms.jwks_fetches - fetches <= 1


def _resigned(lms: Platform, data: dict, changes: dict) -> dict:
    """The launch with claims changed, signed again with the LMS's key (what an LMS
    sending those claims would post)."""
    claims = jwt.decode(data["id_token"], options={"verify_signature": False}) | changes
    kid = jwt.get_unverified_header(data["id_token"])["kid"]
    token = jwt.encode(claims, lms.private_pem, algorithm="RS256", headers={"kid": kid})
    return {**data, "id_token": token}


def test_a_placement_that_takes_no_resource_link_is_refused_at_launch(make_client, lms) -> None:
    """A deep linking request whose ``accept_types`` lacks ``ltiResourceLink`` (a placement
    for files or links) cannot receive what this tool places: refused with a page saying
    so, before the instructor chooses anything, and nothing is created."""
    dl = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        data = _id_token(client, lms, "t-1", [INSTRUCTOR], deep_link=True)
        settings = jwt.decode(data["id_token"], options={"verify_signature": False})[dl]
        assert "ltiResourceLink" in settings["accept_types"]
        before = _counts(client)
        files_only = _resigned(lms, data, {dl: settings | {"accept_types": ["file", "html"]}})
        r = _post(client, files_only)
        assert r.status_code == 400
        assert "accepts no LTI resource link (it accepts: file, html)" in html.unescape(r.text)
        assert _counts(client) == before
        fine = _id_token(client, lms, "t-1", [INSTRUCTOR], deep_link=True)
        links = _resigned(lms, fine, {dl: settings | {"accept_types": ["ltiResourceLink"]}})
        teacher = _session(client, _post(client, links))
        assert teacher["message_type"] == "LtiDeepLinkingRequest"


def test_a_score_the_lms_refuses_for_good_is_not_resent_until_asked(make_client, lms) -> None:
    """A 4xx that sending again cannot change (here 404: the line item was deleted in the
    LMS) marks the grade ``refused`` with the LMS's answer, after one try: no hourly resend
    forever. Once the LMS's side is fixed, the instructor sends the course's refused grades
    again (``POST /courses/{id}/lti/grades/retry``) and the LMS gets the score once."""
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher, learner, _item = _deep_link_and_learner(client, lms)
        exam, answers = _answer_first(client, learner)
        lms.refusing = 404
        auth = {"Authorization": f"Bearer {learner['token']}"}
        r = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers}, headers=auth)
        assert r.status_code == 200, r.text
        boss = {"Authorization": f"Bearer {teacher['token']}"}
        grades = f"/courses/{teacher['course_id']}/lti/grades"
        (row,) = _wait(lambda: [g for g in client.get(grades, headers=boss).json()
                                if g["state"] == "refused"])  # fmt: skip
        assert row["attempts"] == 1 and "scores endpoint answered 404" in row["last_error"]
        assert "line item not found" in row["last_error"]
        time.sleep(1.0)  # ten outbox rounds, five retry bases: nothing is sent again
        assert lms.score_posts == 1
        book = client.get(f"/courses/{teacher['course_id']}/gradebook", headers=boss).json()
        assert [e["lms"] for e in book["rows"] if e["status"] == "submitted"] == ["refused"]
        learner_auth = {"Authorization": f"Bearer {learner['token']}"}
        retry = f"/courses/{teacher['course_id']}/lti/grades/retry"
        assert client.post(retry, headers=learner_auth).status_code == 403
        lms.refusing = None  # the LMS's side is fixed
        assert client.post(retry, headers=boss).json() == {"requeued": 1}
        line = f"li-{learner['assessment_id']}"
        (score,) = _wait(lambda: lms.scores.get(line))
        assert score["userId"] == "s-1" and score["scoreGiven"] == 1.0
        # Stamped at the resend: an LMS keeps a score only if newer than the one it holds.
        submitted = datetime.fromisoformat(r.json()["submitted_at"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(score["timestamp"]) > submitted + timedelta(seconds=1)
        _wait(lambda: client.get(grades, headers=boss).json()[0]["state"] == "sent")
        assert client.post(retry, headers=boss).json() == {"requeued": 0}
        assert lms.score_posts == 2 and len(lms.scores[line]) == 1


def test_the_lms_answers_are_classed_refused_or_tried_again() -> None:
    """What the scores endpoint answers decides the grade's fate: a 4xx that sending again
    cannot change is refused for good; 401, 403, 429 and 5xx are tried again, with the wait
    a 429 or 503 asks for (``Retry-After``) carried to the outbox."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    import httpx

    from api.services.lti_services import PlatformCalls, ServiceError
    from api.store.lti import GradeJob

    job = GradeJob(1, 1, 1, "http://lms/lineitems/1", "s", 1.0, 2.0, datetime.now(UTC), 0)

    def answer(status: int, headers: dict | None = None) -> ServiceError:
        transport = httpx.MockTransport(lambda req: httpx.Response(status, headers=headers))
        calls = PlatformCalls(1.0)
        calls._http = httpx.Client(transport=transport)
        calls._token = lambda *a: "token"  # type: ignore[method-assign]
        with pytest.raises(ServiceError) as caught:
            calls.post_score(SimpleNamespace(id=1), None, job)  # type: ignore[arg-type]
        return caught.value

    busy = answer(429, {"Retry-After": "120"})
    assert busy.retry_after_s == 120.0 and not busy.refused
    assert answer(503, {"Retry-After": "soon"}).retry_after_s is None
    assert not answer(503).refused and not answer(500).refused
    for status in (400, 404, 409, 410, 422):
        refused = answer(status)
        assert refused.refused and f"answered {status}" in str(refused), status
    assert not answer(401).refused and not answer(403).refused


def test_logins_are_limited_per_client_address(make_client, lms) -> None:
    """Anyone can start a login, and each keeps a state row for ten minutes: a burst per
    client address, then a rate; past it a 429 page with Retry-After, and no row."""
    settings = LTI_SETTINGS | {"lti_login_burst": 3, "lti_login_rate_per_minute": 1}
    with make_client(**settings) as client:
        _register(client, lms)
        for _ in range(3):
            _login(client, lms, "s-1")
        params = {"iss": lms.issuer, "login_hint": "s-1", "client_id": lms.client_id,
                  "target_link_uri": "http://testserver/lti/launch"}  # fmt: skip
        r = client.get("/lti/login", params=params, follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "too many launches from this address" in r.text
        with Session(client.app.state.engine) as s:
            assert s.exec(text("SELECT count(*) FROM lti_login")).one()[0] == 3


def test_no_grade_goes_back_without_the_score_scope(make_client, lms) -> None:
    """The AGS claim grants scopes: without the score scope (an LMS set to "line items only"),
    or with a line item that is not an http(s) URL, the launch keeps no line item, and the
    student's submission puts nothing in the outbox (no endless refused token requests)."""
    ags = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        teacher = _session(client, _post(client, _id_token(client, lms, "t-1", [INSTRUCTOR])))
        auth = {"Authorization": f"Bearer {teacher['token']}"}
        body = {"title": "Quiz", "families": ["conv_params"], "count": 1}
        quiz = client.post(f"/courses/{teacher['course_id']}/assessments", json=body, headers=auth)
        custom = {"assessment_id": str(quiz.json()["id"])}
        readonly = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
        for sub, claim in (
            ("s-1", {"lineitem": lms.url("/lineitems/li-1"), "scope": [readonly]}),
            ("s-2", {"lineitem": "ftp://lms/li-1", "scope": [AGS_SCORE, readonly]}),
        ):
            data = _id_token(client, lms, sub, [LEARNER], custom=custom, lineitem="li-1")
            granted = jwt.decode(data["id_token"], options={"verify_signature": False})[ags]
            assert AGS_SCORE in granted["scope"]  # what the library grants by default
            learner = _session(client, _post(client, _resigned(lms, data, {ags: claim})))
            exam, answers = _answer_first(client, learner)
            student = {"Authorization": f"Bearer {learner['token']}"}
            done = client.post(f"/exams/{exam['id']}/submit", json={"answers": answers},
                               headers=student)  # fmt: skip
            assert done.status_code == 200, done.text
        with Session(client.app.state.engine) as s:
            assert s.exec(text("SELECT count(*) FROM lti_grade")).one()[0] == 0
            kept = s.exec(text("SELECT lineitem_url FROM lti_launch WHERE role = 'student'"))
            assert [r[0] for r in kept] == [None, None]
        time.sleep(0.3)
        assert lms.score_posts == 0 and lms.token_requests == []
        assert client.get(f"/courses/{teacher['course_id']}/lti/grades", headers=auth).json() == []


def test_a_context_id_too_long_to_keep_whole_is_refused(make_client, lms) -> None:
    """Course contexts are keyed by their id (at most 255 characters kept): a longer one
    would be cut, and two LMS courses sharing its first 255 characters would share a course
    and its grades here. Refused instead, nothing created."""
    context = LTI + "context"
    with make_client(**LTI_SETTINGS) as client:
        _register(client, lms)
        before = _counts(client)
        for tail in ("a", "b"):
            data = _id_token(client, lms, "t-1", [INSTRUCTOR])
            long_id = {"id": "c" * 255 + tail, "title": "Course " + tail}
            r = _post(client, _resigned(lms, data, {context: long_id}))
            assert r.status_code == 400 and "longer than 255" in r.text
        assert _counts(client) == before
        data = _id_token(client, lms, "t-1", [INSTRUCTOR])
        ok = _session(client, _post(client, _resigned(lms, data, {context: {"id": "c" * 255}})))
        assert ok["role"] == "instructor"
