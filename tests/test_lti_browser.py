"""LTI 1.3 in a real browser: Debian's Chromium shows the LMS's course page (the loopback
platform of ``tests.lti_platform``), whose frame runs the whole launch — the tool's login,
the platform's signed launch posted back, the study page signing in with the one-time code —
under the study page's Content-Security-Policy (framed by the registered LMS only).

An instructor places an assessment (deep linking, through the page's chooser); a student's
launch lands on it and starts it; the student's submitted score reaches the LMS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .lti_platform import INSTRUCTOR, LEARNER, Platform
from .servers import free_port
from .test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, needs_browser, sync_playwright

ADMIN = "lti-browser-admin"


def _call(url: str, body: dict | None = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app under uvicorn, with an admin token and quick grade delivery."""
    if sync_playwright is None or CHROMIUM is None:
        pytest.skip("no browser")
    tmp = tmp_path_factory.mktemp("lti-tool")
    port = free_port()
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": f"sqlite:///{tmp / 'flopcards.db'}",
        "FLOPCARDS_CONTENT_DIR": str(ROOT / "tests" / "fixtures" / "notes"),
        "FLOPCARDS_RUN_EXAMPLES": "false",
        "FLOPCARDS_WARM_UP": "false",
        "FLOPCARDS_ADMIN_TOKEN": ADMIN,
        "FLOPCARDS_LTI_OUTBOX_INTERVAL_S": "0.2",
    }
    log = (tmp / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(f"{base}/health")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp / "uvicorn.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@needs_browser
def test_launch_deep_link_and_study_inside_the_lms_frame(tool: str) -> None:
    lms = Platform(tool_url=tool)
    lms.start()
    try:
        request = urllib.request.Request(
            f"{tool}/lti/platforms", json.dumps(lms.registration_fields()).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=20).read()
        lms.live_conf = lms.conf(_call(f"{tool}/lti/jwks"))
        assert sync_playwright is not None
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # The instructor opens the tool's deep linking placement: the chooser.
            lms.next_launch = {"sub": "t-1", "roles": [INSTRUCTOR], "name": "Grace",
                               "deep_link": True}  # fmt: skip
            page.goto(lms.url("/course"))
            frame = page.frame_locator("#tool")
            frame.locator("h1", has_text="Add an assessment to your course").wait_for()
            tool_frame = next(f for f in page.frames if f.url.startswith(tool))
            token = tool_frame.evaluate("localStorage.getItem('flopcards.token')")
            hash_ = tool_frame.evaluate("location.hash")
            assert "lti_code" not in tool_frame.url  # the one-time code left the address
            course_id = int(hash_.rsplit("/", 1)[1])
            quiz = _call(f"{tool}/courses/{course_id}/assessments",
                         {"title": "Quiz 1", "families": ["conv_params"], "count": 2}, token)  # fmt: skip
            tool_frame.evaluate("location.reload()")
            frame.get_by_role("button", name="Place").click()
            frame.locator("#placed").wait_for()
            (item,) = lms.live_conf.validate_deeplinking_resp({"JWT": lms.returned[-1]})
            assert item["custom"] == {"assessment_id": str(quiz["id"])}

            # A student follows the placed link: the assessment, then their own copy.
            lms.next_launch = {"sub": "s-1", "roles": [LEARNER], "name": "Ada",
                               "custom": item["custom"], "lineitem": "li-1"}  # fmt: skip
            page.goto(lms.url("/course"))
            frame.locator("h1", has_text="Quiz 1").wait_for()
            frame.get_by_role("button", name="Start").click()
            tool_frame = next(f for f in page.frames if f.url.startswith(tool))
            deadline = time.monotonic() + 30  # (a polled predicate: the CSP forbids eval)
            while not tool_frame.evaluate("location.hash").startswith("#/exam/"):
                assert time.monotonic() < deadline, tool_frame.evaluate("location.hash")
                page.wait_for_timeout(100)
            exam_id = int(tool_frame.evaluate("location.hash").rsplit("/", 1)[1])
            student = tool_frame.evaluate("localStorage.getItem('flopcards.token')")
            browser.close()
        assert errors == []
        _call(f"{tool}/exams/{exam_id}/submit", {"answers": {}}, student)
        deadline = time.monotonic() + 20
        while not lms.scores.get("li-1") and time.monotonic() < deadline:
            time.sleep(0.1)
        (score,) = lms.scores["li-1"]
        assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("s-1", 0.0, 2.0)
    finally:
        lms.stop()
