// Courses: create or join one; an instructor shares the join code, sets assessments and reads
// the gradebook and item statistics; a student starts an assessment (their own variants) and
// takes it in the exam view, where the results appear once they submit.

import { api } from "../api.js";
import { dateTime, formatScore, h, hideError, setStatus, showError } from "../dom.js";

function submitting(form, action) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function field(id, label, input) {
  return h("div", { class: "field" }, h("label", { for: id, text: label }), input);
}

// --- #/courses -----------------------------------------------------------------------------

export async function renderList(root) {
  const courses = await api.get("/courses");
  const title = h("input", { id: "course-title", required: true, maxlength: 200 });
  const code = h("input", { id: "join-code", required: true, maxlength: 32, autocomplete: "off" });
  const create = submitting(
    h(
      "form",
      { class: "panel", id: "create-course" },
      h("h2", { text: "Teach a course" }),
      field("course-title", "Title", title),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Create" })),
    ),
    async () => {
      const course = await api.post("/courses", { title: title.value });
      location.hash = `#/courses/${course.id}`;
    },
  );
  const join = submitting(
    h(
      "form",
      { class: "panel", id: "join-course" },
      h("h2", { text: "Join a course" }),
      field("join-code", "Join code from your instructor", code),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Join" })),
    ),
    async () => {
      const course = await api.post("/courses/join", { join_code: code.value });
      location.hash = `#/courses/${course.id}`;
    },
  );
  const list = courses.length
    ? h(
        "ul",
        { class: "course-list", id: "course-list" },
        courses.map((c) =>
          h(
            "li",
            {},
            h("a", { href: `#/courses/${c.id}`, text: c.title }),
            h("span", { class: "muted", text: ` · ${c.role}` }),
          ),
        ),
      )
    : h("p", { class: "muted", text: "You are in no course yet." });
  root.append(h("h1", { text: "Courses" }), list, h("div", { class: "grid2" }, create, join));
}

// --- #/courses/:id ---------------------------------------------------------------------------

export async function renderCourse(root, id) {
  const course = await api.get(`/courses/${id}`);
  const assessments = await api.get(`/courses/${id}/assessments`);
  const networks = await api.get(`/courses/${id}/architectures`);
  root.append(h("h1", { text: course.title }), networkList(id, networks));
  if (course.role === "instructor") {
    root.append(
      h(
        "p",
        {},
        "Join code: ",
        h("strong", { id: "course-code", text: course.join_code }),
        h("span", { class: "muted", text: " — students enter it under Courses." }),
      ),
      assessmentTable(assessments, true),
      assessmentForm(id),
      await gradebook(id),
    );
  } else {
    root.append(assessmentTable(assessments, false));
  }
}

// The course's own networks, each opening in the architecture explorer.
function networkList(courseId, networks) {
  if (!networks.length) return null;
  return h(
    "section",
    { class: "panel", id: "course-networks" },
    h("h2", { text: "The course's networks" }),
    h(
      "ul",
      {},
      networks.map((n) =>
        n.paused
          ? h(
              "li",
              { dataset: { paused: "true" } },
              h("span", { text: n.name }),
              h("span", {
                class: "muted",
                text: " · hidden until you submit the open assessment that asks about it",
              }),
            )
          : h(
              "li",
              {},
              h("a", { href: `#/courses/${courseId}/architectures/${n.name}`, text: n.name }),
              h("span", {
                class: "muted",
                text: ` · ${n.params.toLocaleString("en")} parameters · ${n.macs.toLocaleString("en")} MACs`,
              }),
            ),
      ),
    ),
  );
}

function status(a) {
  if (a.status === "submitted") return `submitted · ${formatScore(a.score)} / ${a.max_score}`;
  return a.status === "in_progress" ? "in progress" : "not started";
}

function assessmentTable(assessments, instructor) {
  if (!assessments.length) return h("p", { class: "muted", text: "No assessments yet." });
  const head = instructor
    ? ["Assessment", "Questions", "Window", "Started", "Submitted", ""]
    : ["Assessment", "Questions", "Window", "Status", ""];
  return h(
    "table",
    { class: "assessments data", id: "assessments" },
    h("caption", { text: "Assessments" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        head.map((t) => h("th", { scope: "col", text: t })),
      ),
    ),
    h(
      "tbody",
      {},
      assessments.map((a) => {
        const window =
          [
            a.opens_at && `from ${dateTime(a.opens_at)}`,
            a.closes_at && `until ${dateTime(a.closes_at)}`,
          ]
            .filter(Boolean)
            .join(" ") || "always open";
        const cells = instructor
          ? [
              a.started,
              a.submitted,
              h("a", { href: `#/assessments/${a.id}/stats`, text: "Item statistics" }),
            ]
          : [status(a), studentAction(a)];
        return h(
          "tr",
          { dataset: { assessmentId: a.id } },
          h("th", { scope: "row", text: a.title }),
          h("td", {
            text: String(a.count) + (a.time_limit_min ? ` · ${a.time_limit_min} min` : ""),
          }),
          h("td", { text: window }),
          cells.map((c) => h("td", {}, c)),
        );
      }),
    ),
  );
}

function studentAction(a) {
  if (a.exam_id) {
    const text = a.status === "submitted" ? "See results" : "Continue";
    return h("a", { class: "button", href: `#/exam/${a.exam_id}`, text });
  }
  return h("button", {
    type: "button",
    class: "primary",
    text: "Start",
    onclick: async () => {
      hideError();
      try {
        const exam = await api.post(`/assessments/${a.id}/start`, {});
        location.hash = `#/exam/${exam.id}`;
      } catch (err) {
        showError(err);
      }
    },
  });
}

function assessmentForm(courseId) {
  const title = h("input", { id: "a-title", required: true, maxlength: 200 });
  const count = h("input", {
    id: "a-count",
    type: "number",
    min: 1,
    max: 100,
    value: 5,
    required: true,
  });
  const topics = h("input", {
    id: "a-topics",
    placeholder: "all topics",
    "aria-describedby": "a-topics-hint",
  });
  const limit = h("input", {
    id: "a-limit",
    type: "number",
    min: 1,
    max: 1440,
    placeholder: "none",
  });
  const closes = h("input", { id: "a-closes", type: "datetime-local" });
  const hints = h("input", { id: "a-hints", type: "checkbox" });
  const form = h(
    "form",
    { class: "panel", id: "assessment-form" },
    h("h2", { text: "Set an assessment" }),
    h(
      "div",
      { class: "grid3" },
      field("a-title", "Title", title),
      field("a-count", "Questions", count),
      field("a-limit", "Time limit (minutes)", limit),
    ),
    h(
      "div",
      { class: "grid2" },
      h(
        "div",
        { class: "field" },
        h("label", { for: "a-topics", text: "Topics" }),
        topics,
        h("p", { class: "hint", id: "a-topics-hint", text: "Topic ids, separated by commas." }),
      ),
      field("a-closes", "Closes (your local time)", closes),
    ),
    h(
      "label",
      { class: "check", for: "a-hints" },
      hints,
      h("span", { text: "Allow hints (each one lowers the most an answer can score)" }),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary", text: "Create assessment" }),
    ),
  );
  return submitting(form, async () => {
    const body = { title: title.value, count: Number(count.value) };
    const chosen = topics.value
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    if (chosen.length) body.topics = chosen;
    if (limit.value) body.time_limit_min = Number(limit.value);
    if (closes.value) body.closes_at = new Date(closes.value).toISOString();
    if (hints.checked) body.allow_hints = true;
    await api.post(`/courses/${courseId}/assessments`, body);
    setStatus("Assessment created.");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
}

async function gradebook(courseId) {
  const book = await api.get(`/courses/${courseId}/gradebook`);
  const cols = [
    "name",
    "assessment",
    "status",
    "score",
    "max_score",
    "percent",
    "submitted_at",
    "late",
  ];
  const csv = h("button", {
    type: "button",
    id: "gradebook-csv",
    text: "Download CSV",
    onclick: async () => {
      hideError();
      try {
        setStatus(`Downloaded ${await api.download(`/courses/${courseId}/gradebook?format=csv`)}.`);
      } catch (err) {
        showError(err);
      }
    },
  });
  const show = (col, v) =>
    v === null || v === undefined ? "" : col === "submitted_at" ? dateTime(v) : String(v);
  return h(
    "section",
    { class: "panel", id: "gradebook" },
    h("h2", { text: "Gradebook" }),
    book.rows.length
      ? h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "data" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                cols.map((c) => h("th", { scope: "col", text: c.replace("_", " ") })),
              ),
            ),
            h(
              "tbody",
              {},
              book.rows.map((r) =>
                h(
                  "tr",
                  {},
                  cols.map((c) => h("td", { text: show(c, r[c]) })),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted", text: "No students yet: share the join code." }),
    h("div", { class: "row" }, csv),
  );
}

// --- #/assessments/:id/stats -----------------------------------------------------------------

export async function renderStats(root, id) {
  const [assessment, stats] = await Promise.all([
    api.get(`/assessments/${id}`),
    api.get(`/assessments/${id}/stats`),
  ]);
  const fmt = (v) => (v === null || v === undefined ? "—" : String(v));
  root.append(
    h("h1", { text: `${assessment.title}: item statistics` }),
    h("p", {
      class: "muted",
      text: `${stats.submitted} submitted. Discrimination: ${stats.discrimination_method}.`,
    }),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", id: "item-stats" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "#",
              "Family",
              "n",
              "Facility",
              "Discrimination",
              "Upper–lower",
              "Most frequent mistakes",
            ].map((t) => h("th", { scope: "col", text: t })),
          ),
        ),
        h(
          "tbody",
          {},
          stats.items.map((i) =>
            h(
              "tr",
              {
                dataset: { position: i.position },
                class: i.discrimination !== null && i.discrimination < 0.2 ? "suspect" : null,
              },
              h("td", { text: String(i.position + 1) }),
              h("td", { text: i.family }),
              h("td", { text: String(i.n) }),
              h("td", { text: i.facility_percent === null ? "—" : `${i.facility_percent}%` }),
              h("td", { text: fmt(i.discrimination) }),
              h("td", { text: fmt(i.upper_lower_index) }),
              h("td", {
                text: i.top_mistakes.map((m) => `${m.code} × ${m.count}`).join(", ") || "—",
              }),
            ),
          ),
        ),
      ),
    ),
    h("p", {
      class: "hint",
      text: "Rows with a discrimination under 0.2 are marked: a wrong key, an ambiguous prompt or a trick question shows there first.",
    }),
    h("p", {}, h("a", { href: `#/courses/${assessment.course_id}`, text: "Back to the course" })),
  );
}
