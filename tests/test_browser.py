"""The study page in a real browser: Playwright drives Debian's Chromium against the real app
served by uvicorn in a subprocess (its own port, SQLite file and example cache).

One flow covers the page end to end: register, start a session, study five cards with the
keyboard (Space, then a digit), answer a generated question wrongly and read the named mistake
and the worked solution, see the reviews counted on the progress page, take a two-question
exam and download its exports, then check the layout at 360 px. Screenshots of every view go
to the test's temporary folder.

The browser tests skip only when Playwright is not importable or no Chromium is installed;
they never download a browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content import DEFAULT_NOTES_DIR

from .servers import free_port

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # the dev extra installs it; without it only the browser tests skip
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "api" / "static"
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Three real notes keep the background example runs short: conv-arithmetic's two examples are
# run first (notes sync in file order), and the flow meets the first one after two cards and
# the session's question.
NOTES = ("conv-arithmetic.md", "grouped-conv.md", "vgg.md")
EXAMPLE_CARDS = ("conv-arithmetic-alexnet-conv1-shape", "conv-arithmetic-bytes-per-dtype")

needs_browser = pytest.mark.skipif(
    sync_playwright is None or CHROMIUM is None,
    reason=(
        "playwright is not importable (pip install playwright)"
        if sync_playwright is None
        else "no Chromium found (apt-get install chromium); the test never downloads one"
    ),
)


# --- the page is served, outside the OpenAPI schema (no browser needed) ----------------------


def test_page_is_served_and_stays_out_of_the_schema(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in page.text
    js = client.get("/static/js/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    missing = client.get("/static/nope.js")
    assert missing.status_code == 404 and "detail" in missing.json()


def test_the_page_is_packaged() -> None:
    """`pip install .` (the Docker image) ships only the declared package data; a page file
    left out would be missing there, and the app would not start without the directory."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["api"]
    packaged = {p for pattern in patterns for p in (ROOT / "api").glob(pattern)}
    files = {p for p in STATIC.rglob("*") if p.is_file()}
    assert files and files <= packaged, sorted(str(p.relative_to(ROOT)) for p in files - packaged)


def test_every_module_import_resolves() -> None:
    """A typo in an import path would blank the page; check every relative import exists."""
    for js in STATIC.rglob("*.js"):
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', js.read_text(), re.M):
            assert (js.parent / target).resolve().is_file(), f"{js.name} imports {target}"


# --- the server and the browser ---------------------------------------------------------------


def _get(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def app_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    """The real app under uvicorn on a free port, with its own notes, database and example
    cache; started here, waited for in ``server`` (so Chromium can start meanwhile)."""
    if sync_playwright is None or CHROMIUM is None:
        pytest.skip("no browser")
    tmp = tmp_path_factory.mktemp("server")
    notes = tmp / "notes"
    notes.mkdir()
    for name in NOTES:
        shutil.copy(DEFAULT_NOTES_DIR / name, notes / name)
    port = free_port()
    env = os.environ | {
        "FLOPCARDS_DATABASE_URL": f"sqlite:///{tmp / 'flopcards.db'}",
        "FLOPCARDS_CONTENT_DIR": str(notes),
        "FLOPCARDS_EXAMPLE_CACHE_DIR": str(tmp / "examples"),
        "FLOPCARDS_RUN_EXAMPLES": "true",
        "FLOPCARDS_WARM_UP": "false",  # its pass over every family would slow the example runs
        "FLOPCARDS_OPEN_REGISTRATION": "true",
    }
    log_path = tmp / "uvicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(app_process: tuple[str, Any, Path], browser: Browser) -> str:
    """The app's base URL once it answers /health."""
    base, proc, log_path = app_process
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(f"{base}/health")
            return base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start:\n" + log_path.read_text()) from None
            time.sleep(0.2)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None or CHROMIUM is None:
        pytest.skip("no browser")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(20_000)
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    # Everything the Content-Security-Policy blocks is reported to the page; keep a list.
    p.add_init_script(CSP_WATCH)
    yield p
    violations = _csp_violations(p)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not violations, f"blocked by the Content-Security-Policy: {violations}"


CSP_WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__csp.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


def _csp_violations(page: Page) -> list[str]:
    try:
        return page.evaluate("window.__csp || []")
    except Exception:  # the page is gone (closed by the test): nothing more to read
        return []


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at a 360 px viewport"


def _wait_for_examples(base: str, deadline_s: float = 120) -> None:
    """The runner fills in the examples' real output after start-up; the card view shows what
    the API has, so wait until the cards the flow meets have been run."""
    deadline = time.monotonic() + deadline_s
    while True:
        cards = [_get(f"{base}/cards/{card}") for card in EXAMPLE_CARDS]
        if all(ex["ran_at"] for c in cards for ex in c["examples"]):
            return
        assert time.monotonic() < deadline, "the examples were not run in time"
        time.sleep(0.3)


def _wrong_conv_params(params: dict) -> str:
    """An answer to a conv_params variant that makes a named mistake: the count off by one,
    written in full (it claims every digit). A counted or forgotten bias can fall within the
    rounding a 3-significant-figure answer is allowed, so it is not used here."""
    k = params["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    weights = params["out_channels"] * params["in_channels"] // params["groups"] * kh * kw
    truth = weights + (params["out_channels"] if params["bias"] else 0)
    # A trailing zero is not read as a claimed digit (274,000 may be a rounding): avoid one.
    return str(truth + 1 if (truth + 1) % 10 else truth - 1)


# --- the flow ---------------------------------------------------------------------------------


@needs_browser
def test_study_flow_in_the_browser(server: str, page: Page, tmp_path: Path) -> None:
    shots = tmp_path
    page.goto(server + "/")
    page.wait_for_url("**/#/account")

    # Register: the token is shown once and kept in localStorage.
    page.fill("#reg-name", "ada")
    page.click("#register-form button[type=submit]")
    token = page.locator("#new-token").input_value()
    assert len(token) > 20
    assert page.evaluate("localStorage.getItem('flopcards.token')") == token
    page.screenshot(path=shots / "account.png", full_page=True)

    # Pick a topic, include generated questions of one family, start.
    page.click("text=Start studying")
    page.check("#topic-conv-arithmetic")
    page.check("#include-questions")
    page.click("#families summary")
    page.check("#family-conv_params")
    page.fill("#size", "10")
    page.screenshot(path=shots / "setup.png", full_page=True)
    with page.expect_response(lambda r: r.url.endswith("/next")) as first:
        page.click("#session-form button[type=submit]")
    item = first.value.json()

    cards = questions = 0
    ratings = iter("32431")
    while cards < 5:
        assert not item.get("done"), "the session ended early"
        if item["kind"] == "question":
            item = _answer_question_wrongly(page, item, shots)
            questions += 1
            continue
        item = _study_card(page, item, next(ratings), shots if cards == 2 else None)
        cards += 1
    assert questions == 1, "the session's third new item is the generated question"

    # Progress: the six answers (five cards, one question) are counted.
    progress = _get(f"{server}/progress", token)
    page.click("nav >> text=Progress")
    page.wait_for_selector("#stats")
    assert page.text_content("#total-reviews") == "6" == str(progress["total_reviews"])
    assert page.text_content("#reviewed-today") == "6"
    assert page.locator("#forecast-chart rect.bar").count() == 7
    assert "6 reviews in the last 30 days" in page.text_content("#reviews-chart title")
    conv = next(t for t in progress["topics"] if t["topic"] == "conv-arithmetic")
    assert page.text_content("[data-topic=conv-arithmetic] .muted") == (
        f"{conv['new']} new · {conv['learning']} learning · {conv['review']} review"
    )
    page.screenshot(path=shots / "progress.png", full_page=True)

    # An exam of two questions: generate, answer, submit, read the score, export.
    page.click("nav >> text=Exam")
    page.check("#exam-topic-conv-arithmetic")
    page.fill("#exam-count", "2")
    page.fill("#exam-seed", "4242")
    page.click("#exam-form button[type=submit]")
    page.wait_for_selector("#take-form")
    questions_li = page.locator("#take-form li[data-question-id]")
    assert questions_li.count() == 2
    for i in range(2):
        li = questions_li.nth(i)
        if li.locator("input[type=radio]").count():
            li.locator("input[type=radio]").first.check()
        else:
            li.locator("input.answer-input").fill("1000")
    page.screenshot(path=shots / "exam-take.png", full_page=True)
    with page.expect_response(lambda r: r.url.endswith("/submit")) as submitted:
        page.click("#submit-exam")
    result = submitted.value.json()
    score = page.text_content("#exam-score")
    assert score.startswith(f"Score {result['score']:g} / 2"), score
    assert page.locator("#exam-result li[data-status]").count() == 2
    page.screenshot(path=shots / "exam-result.png", full_page=True)
    exam_id = re.search(r"#/exam/(\d+)$", page.url).group(1)
    for fmt, suffix in [
        ("moodle", "xml"),
        ("gift", "gift.txt"),
        ("markdown", "md"),
        ("json", "json"),
    ]:
        with page.expect_download() as download:
            page.click(f"#exports button[data-format={fmt}]")
        assert download.value.suggested_filename == f"exam-{exam_id}.{suffix}"
        body = Path(download.value.path()).read_text()
        assert body.strip()
        if fmt == "json":
            assert len(json.loads(body)["questions"]) == 2

    # 360 px: no view scrolls sideways.
    page.set_viewport_size({"width": 360, "height": 780})
    _no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-exam.png", full_page=True)
    page.click("nav >> text=Progress")
    page.wait_for_selector("#stats")
    _no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-progress.png", full_page=True)
    page.click("nav >> text=Study")
    page.wait_for_selector("#session-form")
    _no_horizontal_scroll(page)
    page.check("#topic-conv-arithmetic")
    page.click("#session-form button[type=submit]")
    page.wait_for_selector("#card")
    page.keyboard.press(" ")
    page.wait_for_selector("#ratings")
    _no_horizontal_scroll(page)
    page.screenshot(path=shots / "mobile-card.png", full_page=True)


def _study_card(page: Page, item: dict, digit: str, shots: Path | None) -> dict:
    """Space shows the back and the examples; the digit rates; returns the next item."""
    card = page.locator(f"#card[data-item-id='{item['item_id']}']")
    card.wait_for()
    assert page.locator("#card-back").is_hidden()
    assert page.locator("#ratings").is_hidden()
    page.keyboard.press(" ")
    page.wait_for_selector("#card-back", state="visible")
    for name, interval in item["intervals"].items():
        label = page.text_content(f"button[data-rating={name}] .rate-interval")
        assert label == interval["label"]
    examples = _get_examples(page, item["item_id"])
    if examples:
        page.wait_for_selector("#examples .example")
        shown = page.locator("#examples pre.output code")
        for i, ex in enumerate(examples):
            assert page.locator("#examples pre.code code").nth(i).text_content() == ex["code"]
            assert shown.nth(i).text_content() == ex["output"]
    if shots is not None:
        page.screenshot(path=shots / "card.png", full_page=True)
    with page.expect_response(lambda r: r.url.endswith("/next")) as nxt:
        page.keyboard.press(digit)
    return nxt.value.json()


def _get_examples(page: Page, card_id: str) -> list[dict]:
    # What the API says about the card, asked from the page's own origin.
    return page.evaluate(
        "async (id) => (await (await fetch('/cards/' + encodeURIComponent(id))).json()).examples",
        card_id,
    )


def _answer_question_wrongly(page: Page, item: dict, shots: Path) -> dict:
    """Answer a conv_params question with a named mistake; the grade, the mistake, the
    expected answer and the worked solution appear; Enter moves on."""
    question = item["question"]
    assert question["family"] == "conv_params"
    page.wait_for_selector("#question #answer")
    page.fill("#answer", _wrong_conv_params(question["params"]))
    with page.expect_response(lambda r: r.url.endswith("/answer")) as answered:
        page.keyboard.press("Enter")
    grade = answered.value.json()["grade"]
    assert grade["status"] == "incorrect" and grade["diagnosis"], grade
    page.wait_for_selector("#grade .diagnosis")
    text = page.text_content("#grade")
    assert "Incorrect" in text
    for d in grade["diagnosis"]:
        assert d["message"] in text
    assert grade["expected_display"] in page.text_content("#grade .expected")
    assert page.locator("#grade .solution").is_visible()
    assert grade["solution"].split(" ")[0] in page.text_content("#grade .solution")
    page.screenshot(path=shots / "question.png", full_page=True)
    _wait_for_examples(page.url.split("/#")[0])  # the next card shows an example's output
    with page.expect_response(lambda r: r.url.endswith("/next")) as nxt:
        page.keyboard.press("Enter")
    return nxt.value.json()


@needs_browser
def test_api_errors_are_shown_in_words(server: str, page: Page, tmp_path: Path) -> None:
    page.goto(server + "/#/account")
    page.fill("#signin-token", "not-a-token")
    page.click("#signin-form button[type=submit]")
    banner = page.locator("#error-banner")
    banner.wait_for()
    assert "missing or invalid bearer token" in banner.text_content()
    assert page.evaluate("localStorage.getItem('flopcards.token')") is None

    token = _post(f"{server}/users", {"name": "bob"})["token"]
    page.evaluate("(t) => localStorage.setItem('flopcards.token', t)", token)
    page.goto(server + "/#/exam/999999")
    banner.wait_for()
    assert "no exam 999999" in banner.text_content()
    assert page.text_content("#view h1") == "This page could not be loaded"
    page.screenshot(path=tmp_path / "error.png", full_page=True)
    page.click("#error-close")
    assert banner.is_hidden()

    # A validation error (a list of {loc, msg}) also reads as a sentence.
    message = page.evaluate(
        """async () => (await import("/static/js/api.js")).api
            .post("/sessions", {size: 0}).then(() => "accepted", (e) => e.message)"""
    )
    assert message.startswith("size: ") and "greater than or equal to 1" in message, message


# --- the API documentation, offline and under the policy -----------------------------------


@needs_browser
def test_docs_render_offline_under_the_policy(server: str, page: Page) -> None:
    """/docs draws every operation of /openapi.json with nothing but this server's files;
    any other request is recorded and refused. The policy is enforced: an inline script
    added to the page is blocked and reported (the fixture then expects just that one)."""
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(server + "/docs")
    operations = sum(len(ops) for ops in _get(f"{server}/openapi.json")["paths"].values())
    page.wait_for_function(f"document.querySelectorAll('.opblock').length === {operations}")
    page.click("#operations-health-health_health_get .opblock-summary")
    page.click("#operations-health-health_health_get .try-out__btn")
    page.click("#operations-health-health_health_get .execute")
    page.wait_for_selector("#operations-health-health_health_get .live-responses-table")
    assert '"status": "ok"' in page.text_content(
        "#operations-health-health_health_get .live-responses-table"
    )
    assert not elsewhere, f"/docs asked other servers for {elsewhere}"
    assert not _csp_violations(page)
    ran = page.evaluate(
        """() => { const s = document.createElement("script");
        s.textContent = "window.__inline = true"; document.head.append(s);
        return window.__inline === true; }"""
    )
    assert ran is False
    page.wait_for_function("window.__csp.length === 1")
    assert _csp_violations(page)[0].startswith("script-src-elem inline")
    page.evaluate("window.__csp = []")


# --- the architecture explorer ---------------------------------------------------------------


def _digits(text: str) -> int:
    return int(text.replace(",", ""))


def _page_width_at_most(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide at a {width} px viewport"


@needs_browser
def test_architecture_explorer(server: str, page: Page, tmp_path: Path) -> None:
    """One network, then two side by side: every layer has its column and its row, the figures
    shown are the API's, and a column brings its row into view. Screenshots at a desktop and
    a phone width."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server + "/#/architectures")
    page.wait_for_url("**/#/architectures/mobilenet_v2")
    page.wait_for_selector("#layers-chart-a")
    mnv2 = _get(f"{server}/architectures/mobilenet_v2/profile")
    layers = mnv2["layers"]
    assert page.locator("#layers-chart-a a.layer-bar").count() == len(layers) == 143
    assert page.locator("#layers-a tbody tr").count() == len(layers)
    for field, value in mnv2["totals"].items():
        assert _digits(page.text_content(f"#totals-a [data-total={field}]")) == value, field
    shown = page.locator("#by-type-a tbody tr")
    assert shown.count() == len(mnv2["by_type"])
    first = mnv2["by_type"][0]
    assert shown.first.locator("th").text_content() == first["name"] == "conv 1×1"
    assert _digits(shown.first.locator("td").first.text_content()) == first["macs"]
    assert f"{first['percent_macs']:.2f}%" in shown.first.text_content()
    stages = page.locator("#by-stage-a tbody th")
    assert stages.all_text_contents() == [s["name"] for s in mnv2["by_stage"]]
    assert page.locator("#conventions dt").count() == len(mnv2["conventions"])
    assert page.locator("#flops-not-speed .guideline").count() == 4
    assert "1480" in page.text_content("#guideline-g1")
    # What other counters report, loaded on demand: one row per tool, the API's figures.
    page.click("#counters-load")
    page.wait_for_selector("#counters-table")
    counted = _get(f"{server}/architectures/mobilenet_v2/conventions")
    rows = page.locator("#counters-table tbody tr")
    assert rows.count() == len(counted["tools"]) == 10
    for tool in counted["tools"]:
        cell = page.locator(f"#counters-table tr[data-tool={tool['tool']}] td").nth(1)
        assert _digits(cell.text_content()) == tool["figure"], tool["tool"]

    # A column links to its row: the table opens, the row is marked and scrolled into view,
    # and the page stays on the same route.
    heaviest = max(range(len(layers)), key=lambda i: layers[i]["macs"])
    assert page.locator("#layers-details-a").get_attribute("open") is None
    page.locator("#layers-chart-a a.layer-bar").nth(heaviest).click()
    row = page.locator(f"#row-a-{heaviest}")
    assert "highlight" in (row.get_attribute("class") or "")
    assert row.locator("th").text_content() == layers[heaviest]["name"]
    assert page.evaluate(
        """(id) => { const r = document.getElementById(id).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        f"row-a-{heaviest}",
    )
    assert page.url.endswith("#/architectures/mobilenet_v2")
    page.screenshot(path=tmp_path / "architectures-desktop.png", full_page=True)

    # Two networks: the side-by-side table from /architectures/compare, then each network.
    page.select_option("#arch-b", "shufflenet_v2_x1_0")
    page.click("#arch-form button[type=submit]")
    page.wait_for_url("**/#/architectures/mobilenet_v2/vs/shufflenet_v2_x1_0")
    page.wait_for_selector("#layers-chart-b")
    both = _get(f"{server}/architectures/compare?names=mobilenet_v2,shufflenet_v2_x1_0")
    v2 = _get(f"{server}/architectures/shufflenet_v2_x1_0/profile")
    assert page.locator("#layers-chart-b a.layer-bar").count() == len(v2["layers"]) == 169
    assert _digits(page.text_content("#totals-b [data-total=macs]")) == v2["totals"]["macs"]
    pointwise = page.locator("#compare-table tr[data-share='conv 1×1'] td").all_text_contents()
    expected = [
        f"{s['percent_' + k]:.2f}%"
        for a in both["architectures"]
        for s in a["by_type"]
        if s["name"] == "conv 1×1"
        for k in ("macs", "params")
    ]
    assert pointwise == expected
    page.screenshot(path=tmp_path / "architectures-compare-desktop.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    _page_width_at_most(page, 390)
    page.locator("#layers-chart-b a.layer-bar").nth(0).click()
    assert "highlight" in (page.locator("#row-b-0").get_attribute("class") or "")
    _page_width_at_most(page, 390)
    page.screenshot(path=tmp_path / "architectures-phone.png", full_page=True)


def _register_in(page: Page, server: str, name: str) -> str:
    page.goto(server + "/#/account")
    page.fill("#reg-name", name)
    page.click("#register-form button[type=submit]")
    return page.locator("#new-token").input_value()


@needs_browser
def test_course_assessment_in_the_browser(
    server: str, page: Page, browser: Browser, tmp_path: Path
) -> None:
    """An instructor creates a course and an assessment; a student joins with the code,
    takes their own copy (no seed shown, no key export), submits it and sees the results;
    the instructor reads the gradebook and the item statistics — at desktop and phone width."""
    _register_in(page, server, "prof")
    page.goto(server + "/#/courses")
    page.fill("#course-title", "Efficient CNNs")
    page.click("#create-course button[type=submit]")
    page.wait_for_selector("#course-code")
    first_code = page.text_content("#course-code")
    # A new join code replaces the old one; an invitation to co-teach is a code shown once.
    page.click("#rotate-code")
    page.wait_for_function(
        "old => document.querySelector('#course-code').textContent !== old", arg=first_code
    )
    code = page.text_content("#course-code")
    assert code != first_code and len(code) == 8
    page.click("#invite-instructor")
    page.wait_for_selector("#invite-code-shown")
    assert len(page.text_content("#invite-code-shown")) >= 20
    course_url = page.url
    page.fill("#a-title", "Quiz one")
    page.fill("#a-count", "2")
    page.check("#a-topic-conv-arithmetic")  # topics are choices read from the API
    page.check("#a-hints")
    page.click("#assessment-form button[type=submit]")
    page.wait_for_selector("#assessments tbody tr")
    assert page.text_content("#assessments tbody th") == "Quiz one"
    page.screenshot(path=tmp_path / "course-instructor.png", full_page=True)

    student = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    kid = student.new_page()
    kid.set_default_timeout(20_000)
    kid.add_init_script(CSP_WATCH)
    errors: list[str] = []
    kid.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        token = _register_in(kid, server, "kim")
        kid.goto(server + "/#/courses")
        kid.fill("#join-code", code.lower())
        kid.click("#join-course button[type=submit]")
        kid.wait_for_selector("#assessments")
        with kid.expect_response(lambda r: r.url.endswith("/start")) as started:
            kid.click("#assessments button:has-text('Start')")
        exam = started.value.json()
        kid.wait_for_selector("#take-form")
        assert exam["seed"] is None
        assert "Course assessment" in kid.text_content("main")
        # Titled by its assessment, under the Courses tab (not "Exam 1" under Exam).
        assert kid.text_content("main h1") == "Quiz one"
        assert kid.get_attribute("nav [aria-current=page]", "data-nav") == "courses"
        assert kid.locator("#countdown").is_hidden()  # no time limit, no countdown
        assert kid.locator("#exports").count() == 0  # no key before submitting
        # Hints on request: the first one shown, and what it costs.
        first = kid.locator("#take-form li[data-question-id]").first
        with kid.expect_response(lambda r: r.url.endswith("/hint")) as hinted:
            first.locator(".hint-button").click()
        hint = hinted.value.json()
        assert first.locator("ol.hints li").first.text_content().strip() == hint["hint"].strip()
        assert "at most 0.75" in first.locator(".hint-panel p.hint").text_content()
        kid.screenshot(path=tmp_path / "assessment-take-phone.png", full_page=True)
        # Answers are saved as typed: a reload resumes them, and the hint already shown.
        with kid.expect_response(lambda r: r.url.endswith("/answers")) as saved:
            for field in kid.locator("#take-form input.answer-input").all():
                field.fill("1000")
        assert saved.value.status == 200
        kid.wait_for_timeout(1500)  # the last box is saved a pause after its last key
        kid.wait_for_function(
            "document.getElementById('save-status').textContent.startsWith('Saved')"
        )
        kid.reload()
        kid.wait_for_selector("#take-form")
        values = [f.input_value() for f in kid.locator("#take-form input.answer-input").all()]
        assert values == ["1000"] * len(values) and values
        assert first.locator("ol.hints li").first.text_content().strip() == hint["hint"].strip()
        _layout_ok(kid, 390)
        with kid.expect_response(lambda r: r.url.endswith("/submit")) as submitted:
            kid.click("#submit-exam")
        result = submitted.value.json()
        kid.wait_for_selector("#exam-result")
        assert kid.locator("#exam-result li[data-status]").count() == 2
        width = kid.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide at a 390 px viewport"
        kid.screenshot(path=tmp_path / "assessment-result-phone.png", full_page=True)
        assert _get(f"{server}/courses", token)[0]["role"] == "student"
        violations = _csp_violations(kid)
    finally:
        student.close()
    assert not errors and not violations, (errors, violations)

    page.goto(course_url)
    page.reload()  # the same route: read the gradebook afresh
    page.wait_for_selector("#gradebook table")
    row = page.locator("#gradebook tbody tr").first
    cells = [c.text_content() for c in row.locator("td").all()]
    assert cells[:3] == ["kim", "Quiz one", "submitted"]
    score, of = (float(x) for x in cells[3].split(" / "))
    assert (score, of) == (result["score"], 2.0)
    for width in (1280, 390):  # the course page and its gradebook hold together
        page.set_viewport_size({"width": width, "height": 900})
        _layout_ok(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#assessments a:has-text('Statistics')")
    page.wait_for_selector("#item-stats tbody tr")
    assert page.locator("#item-stats tbody tr").count() == 2
    assert page.locator("#item-stats tbody tr td").nth(2).text_content() == "1"  # n
    assert "(small n)" in page.locator("#item-stats tbody tr td").nth(4).text_content()
    page.screenshot(path=tmp_path / "item-stats.png", full_page=True)
    # The instructor opens the student's copy from the gradebook and overrides an item.
    page.goto(course_url)
    page.wait_for_selector("#gradebook table")
    page.click("#gradebook tbody a:has-text('kim')")
    page.wait_for_selector("#review li[data-position]")
    page.fill("#ov-score-0", "1")
    page.fill("#ov-comment-0", "accepted on appeal")
    with page.expect_response(lambda r: "/items/0" in r.url) as overridden:
        page.click("#review li[data-position='0'] button[type=submit]")
    assert overridden.value.json()["items"][0]["override"]["comment"] == "accepted on appeal"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _layout_ok(page, width)
    # The explorer at both widths: no sideways scroll, and its scale reads whole numbers.
    page.goto(server + "/#/architectures/mobilenet_v2")
    page.wait_for_selector("#layers-chart-a", timeout=90_000)  # torch's first use, cold
    mnv2 = _get(f"{server}/architectures/mobilenet_v2/profile")
    tallest = max(layer["percent_macs"] for layer in mnv2["layers"])
    label = page.text_content("#layers-chart-a-macs-scale")
    assert f"{tallest}%" in label, (label, tallest)
    box = page.evaluate(
        """() => { const t = document.getElementById('layers-chart-a-macs-scale').getBBox();
        const v = document.getElementById('layers-chart-a').viewBox.baseVal;
        return [t.x, t.x + t.width, v.width]; }"""
    )
    assert 0 <= box[0] and box[1] <= box[2], box  # inside the chart: nothing cut off
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _layout_ok(page, width)


# Text nodes reading "null" (an Element.append(null)), the page's width, and table headers
# whose words break across lines ("Questi ons").
LAYOUT_PROBE = """() => {
  const nulls = [];
  const walker = document.createTreeWalker(document.getElementById("view"), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (/\\bnull\\b/.test(walker.currentNode.textContent)) {
      nulls.push(walker.currentNode.textContent.slice(0, 80));
    }
  }
  const broken = [];
  for (const th of document.querySelectorAll("#view th")) {
    const texts = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    while (texts.nextNode()) {
      const node = texts.currentNode;
      for (const m of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return { width: document.documentElement.scrollWidth, nulls, broken };
}"""


def _layout_ok(page: Page, width: int) -> None:
    """The view neither scrolls sideways, nor shows "null", nor breaks a header mid-word."""
    page.wait_for_timeout(100)  # a resize reflows before the next frame
    probe = page.evaluate(LAYOUT_PROBE)
    assert probe["width"] <= width, f"the page is {probe['width']} px wide at {width} px"
    assert probe["nulls"] == [], probe["nulls"]
    assert probe["broken"] == [], f"headers broken inside a word at {width} px: {probe['broken']}"


def _api(server: str, method: str, path: str, token: str, body: dict | None = None) -> Any:
    request = urllib.request.Request(
        server + path,
        None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@needs_browser
def test_learner_controls_in_the_browser(server: str, page: Page, tmp_path: Path) -> None:
    """Suspend a card from a session and bring it back from the Cards view, change the
    desired retention, read why a fit is refused, retry a missed question's family with a
    fresh variant, and study exactly the items a readiness forecast puts at risk."""
    token = _register_in(page, server, "lee")
    page.goto(server + "/#/study")
    page.check("#topic-conv-arithmetic")
    page.fill("#size", "3")
    page.click("#session-form button[type=submit]")
    page.wait_for_selector("#card")
    first = page.get_attribute("#card", "data-item-id")
    page.click("#suspend")
    page.wait_for_selector(f"#card:not([data-item-id='{first}'])")
    suspended = _api(server, "GET", "/cards?flag=suspended", token)
    assert [c["id"] for c in suspended["data"]] == [first]

    page.goto(server + "/#/cards")
    page.select_option("#flag-filter", "suspended")
    page.click("#card-filter button[type=submit]")
    page.wait_for_selector(f".card-row[data-card-id='{first}'] .unsuspend")
    page.screenshot(path=tmp_path / "cards-suspended.png", full_page=True)
    page.click(f".card-row[data-card-id='{first}'] .unsuspend")
    page.wait_for_selector(f".card-row[data-card-id='{first}']", state="detached")
    assert _api(server, "GET", "/cards?flag=suspended", token)["count"] == 0

    page.goto(server + "/#/settings")
    page.fill("#desired-retention", "0.8")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-saved:has-text('0.8')")
    assert _api(server, "GET", "/users/me/settings", token)["desired_retention"] == 0.8
    page.click("#fsrs-optimize")
    page.wait_for_selector("#error-banner:not([hidden])")
    assert "512 more reviews" in page.text_content("#error-text")
    page.click("#error-close")
    page.screenshot(path=tmp_path / "settings.png", full_page=True)

    question = _api(server, "POST", "/questions", token, {"family": "conv_params", "seed": 4})
    _api(server, "POST", f"/questions/{question['id']}/grade", token, {"answer": "1"})
    page.goto(server + "/#/mistakes")
    page.wait_for_selector(".attempt[data-family='conv_params']")
    assert question["prompt"].split("\n")[0][:30] in page.text_content(".attempt .prompt")
    page.click(".attempt .try-again")
    page.wait_for_selector(".attempt .prompt.fresh")
    page.screenshot(path=tmp_path / "mistakes.png", full_page=True)

    # Two cards rated easy: a stability of about 8 days.
    sid = _api(server, "POST", "/sessions", token, {"topics": ["vgg"], "size": 2})["id"]
    studied = []
    for _ in range(2):
        item = _api(server, "GET", f"/sessions/{sid}/next", token)
        _api(server, "POST", f"/sessions/{sid}/answer", token,
             {"item_id": item["item_id"], "rating": "easy"})  # fmt: skip
        studied.append(item["item_id"])
    page.goto(server + "/#/readiness")
    page.wait_for_selector("#readiness-chart rect")
    # Two months ahead, both are below the desired retention (0.8) set above.
    exam_day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 60 * 86400))
    page.fill("#exam-date", exam_day)
    with page.expect_response(lambda r: "/progress/readiness" in r.url):
        page.click("#readiness-form button[type=submit]")
    page.wait_for_selector("#at-risk li")
    at_risk = [li.get_attribute("data-item-id") for li in page.locator("#at-risk li").all()]
    assert set(studied) <= set(at_risk)
    page.screenshot(path=tmp_path / "readiness.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 800})
    _no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1024, "height": 900})
    page.click("#study-at-risk")
    page.wait_for_url(re.compile(r".*#/study/\d+$"))
    page.wait_for_selector("#card, #question")
    shown = page.get_attribute("#card, #question", "data-item-id")
    assert shown == at_risk[0]


@needs_browser
def test_course_network_in_the_explorer(server: str, page: Page, tmp_path: Path) -> None:
    """A member opens the course's own network from the course page: the explorer draws one
    column per layer of its profile, with the same totals."""
    token = _register_in(page, server, "prof2")

    def call(method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(server + path, data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    course = call("POST", "/courses", {"title": "Own nets"})
    layers = [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "adaptive_avgpool2d", "output_size": 1},
        {"type": "flatten"},
        {"type": "linear", "out_features": 4},
    ]
    call("POST", f"/courses/{course['id']}/architectures",
         {"name": "mini", "input_shape": [3, 16, 16], "layers": layers})  # fmt: skip
    profile = call("GET", f"/courses/{course['id']}/architectures/mini/profile")
    page.goto(f"{server}/#/courses/{course['id']}")
    page.click("#course-networks a:has-text('mini')")
    page.wait_for_selector("#layers-chart-a")
    assert page.locator("#layers-chart-a a.layer-bar").count() == len(profile["layers"])
    shown = page.locator("#totals-a [data-total=params]").text_content()
    assert _digits(shown) == profile["totals"]["params"] == 8 * 3 * 9 + 8 + 8 * 4 + 4
    page.screenshot(path=tmp_path / "course-network.png", full_page=True)
