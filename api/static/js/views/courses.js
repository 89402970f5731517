// Courses: create or join one; an instructor shares the join code, sets assessments and reads
// the gradebook and item statistics; a student starts an assessment (their own variants) and
// takes it in the exam view, where the results appear once they submit.

import { api } from "../api.js";
import { dateTime, formatScore, h, hideError, markdown, setStatus, showError } from "../dom.js";

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
  const inviteCode = h("input", {
    id: "accept-code",
    required: true,
    maxlength: 64,
    autocomplete: "off",
  });
  const accept = submitting(
    h(
      "form",
      { class: "panel", id: "accept-invite" },
      h("h2", { text: "Co-teach a course" }),
      field("accept-code", "Invitation code from an instructor", inviteCode),
      h("div", { class: "row" }, h("button", { type: "submit", text: "Accept" })),
    ),
    async () => {
      const course = await api.post("/courses/invites/accept", { code: inviteCode.value });
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
  root.append(
    h("h1", { text: "Courses" }),
    list,
    h("div", { class: "grid2" }, create, join),
    accept,
  );
}

// --- #/courses/:id ---------------------------------------------------------------------------

export async function renderCourse(root, id) {
  const course = await api.get(`/courses/${id}`);
  const assessments = await api.get(`/courses/${id}/assessments`);
  const networks = await api.get(`/courses/${id}/architectures`);
  root.append(h("h1", { text: course.title }));
  const nets = networkList(id, networks);
  if (nets) root.append(nets); // none yet: nothing (append(null) would print "null")
  if (course.role === "instructor") {
    root.append(
      codePanel(id, course.join_code),
      assessmentTable(assessments, true),
      await assessmentForm(id, networks),
      await gradebook(id),
    );
  } else {
    root.append(assessmentTable(assessments, false));
  }
}

// The join code (replaceable: the old one stops working) and invitations to co-teach: a
// code shown once, which the invitee accepts under Courses. Nobody is added without that.
function codePanel(courseId, joinCode) {
  const code = h("strong", { id: "course-code", text: joinCode });
  const invite = h("p", { id: "invite-shown", class: "muted", hidden: true });
  const rotate = h("button", { type: "button", id: "rotate-code", text: "New join code" });
  rotate.addEventListener("click", async () => {
    hideError();
    try {
      const course = await api.post(`/courses/${courseId}/join-code`, {});
      code.textContent = course.join_code;
    } catch (err) {
      showError(err);
    }
  });
  const inviteButton = h("button", {
    type: "button",
    id: "invite-instructor",
    text: "Invite a co-instructor",
  });
  inviteButton.addEventListener("click", async () => {
    hideError();
    try {
      const made = await api.post(`/courses/${courseId}/invites`, {});
      invite.replaceChildren(
        "Give this code to your co-instructor (shown once; one use; until ",
        dateTime(made.expires_at),
        "): ",
        h("code", { id: "invite-code-shown", text: made.code }),
      );
      invite.hidden = false;
    } catch (err) {
      showError(err);
    }
  });
  return h(
    "div",
    { id: "course-codes" },
    h(
      "p",
      {},
      "Join code: ",
      code,
      h("span", { class: "muted", text: " — students enter it under Courses. " }),
      rotate,
      " ",
      inviteButton,
    ),
    invite,
  );
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
  // In a box of its own: on a phone the table scrolls there, never the page.
  return h(
    "div",
    { class: "scroll" },
    assessmentRows(assessments, instructor, head),
  );
}

function assessmentRows(assessments, instructor, head) {
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
          ? [a.started, a.submitted, instructorActions(a)]
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

function instructorActions(a) {
  const links = h(
    "div",
    { class: "actions" },
    h("a", { href: `#/assessments/${a.id}/preview`, text: "Preview" }),
    h("a", { href: `#/assessments/${a.id}/stats`, text: "Statistics" }),
  );
  if (!a.locked) {
    links.append(
      h("button", {
        type: "button",
        class: "quiet",
        dataset: { delete: a.id },
        text: "Delete",
        onclick: async () => {
          if (!window.confirm(`Delete "${a.title}"? No student has started it.`)) return;
          hideError();
          try {
            await api.delete(`/assessments/${a.id}`);
            setStatus("Assessment deleted.");
            window.dispatchEvent(new HashChangeEvent("hashchange"));
          } catch (err) {
            showError(err);
          }
        },
      }),
    );
  }
  return links;
}

function studentAction(a) {
  if (a.exam_id) {
    const text = a.status === "submitted" ? "See results" : "Continue";
    return h("a", { class: "button", href: `#/assessments/${a.id}/copy/${a.exam_id}`, text });
  }
  return h("button", {
    type: "button",
    class: "primary",
    text: "Start",
    onclick: async () => {
      hideError();
      try {
        const exam = await api.post(`/assessments/${a.id}/start`, {});
        location.hash = `#/assessments/${a.id}/copy/${exam.id}`;
      } catch (err) {
        showError(err);
      }
    },
  });
}

async function assessmentForm(courseId, networks) {
  const families = await api.get("/questions/families");
  const topicIds = [...new Set(families.map((f) => f.topic))].sort();
  const title = h("input", { id: "a-title", required: true, maxlength: 200 });
  const count = h("input", {
    id: "a-count",
    type: "number",
    min: 1,
    max: 100,
    value: 5,
    required: true,
  });
  // Choices from the API: a topic or network that does not exist cannot be typed.
  const topicBoxes = topicIds.map((t) =>
    h("input", { type: "checkbox", id: `a-topic-${t}`, value: t }),
  );
  const netBoxes = networks
    .filter((n) => !n.paused)
    .map((n) => h("input", { type: "checkbox", id: `a-net-${n.name}`, value: n.name }));
  const limit = h("input", {
    id: "a-limit",
    type: "number",
    min: 1,
    max: 1440,
    placeholder: "none",
  });
  const opens = h("input", { id: "a-opens", type: "datetime-local" });
  const closes = h("input", { id: "a-closes", type: "datetime-local" });
  const hints = h("input", { id: "a-hints", type: "checkbox" });
  const checks = (legend, boxes) =>
    h(
      "fieldset",
      {},
      h("legend", { text: legend }),
      h(
        "div",
        { class: "checks" },
        boxes.map((b) =>
          h("label", { class: "check", for: b.id }, b, h("span", { text: b.value })),
        ),
      ),
    );
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
    checks("Topics (none ticked: all of them)", topicBoxes),
    netBoxes.length ? checks("The course's networks to ask about", netBoxes) : "",
    h(
      "div",
      { class: "grid2" },
      field("a-opens", "Opens (your local time)", opens),
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
    const chosen = topicBoxes.filter((b) => b.checked).map((b) => b.value);
    if (chosen.length) body.topics = chosen;
    const nets = netBoxes.filter((b) => b.checked).map((b) => b.value);
    if (nets.length) body.architectures = nets;
    if (limit.value) body.time_limit_min = Number(limit.value);
    if (opens.value) body.opens_at = new Date(opens.value).toISOString();
    if (closes.value) body.closes_at = new Date(closes.value).toISOString();
    if (hints.checked) body.allow_hints = true;
    await api.post(`/courses/${courseId}/assessments`, body);
    setStatus("Assessment created.");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
}

async function gradebook(courseId) {
  const book = await api.get(`/courses/${courseId}/gradebook`);
  const cols = ["name", "assessment", "status", "score", "percent", "submitted_at", "late"];
  const heads = {
    name: "Student",
    assessment: "Assessment",
    status: "Status",
    score: "Score",
    percent: "%",
    submitted_at: "Submitted",
    late: "Late",
  };
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
  const show = (col, r) => {
    const v = r[col];
    if (v === null || v === undefined) return "";
    if (col === "submitted_at") return dateTime(v) + (r.auto_submitted ? " (auto)" : "");
    if (col === "score") return `${formatScore(v)} / ${formatScore(r.max_score)}`;
    if (col === "status") return v.replace("_", " ");
    if (col === "late") return v ? "late" : "";
    return String(v);
  };
  const cell = (col, r) => {
    if (col === "name" && r.status !== "not_started") {
      const href = `#/assessments/${r.assessment_id}/attempts/${r.student_id}`;
      return h("td", {}, h("a", { href, text: r.name }));
    }
    const extra =
      col === "status" && (r.extra_minutes || r.own_closes_at) ? " · accommodation" : "";
    return h("td", { text: show(col, r) + extra });
  };
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
            { class: "data", id: "gradebook-table" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                cols.map((c) => h("th", { scope: "col", text: heads[c] })),
              ),
            ),
            h(
              "tbody",
              {},
              book.rows.map((r) =>
                h(
                  "tr",
                  {},
                  cols.map((c) => cell(c, r)),
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
                class:
                  !i.sample_too_small && i.discrimination !== null && i.discrimination < 0.2
                    ? "suspect"
                    : null,
              },
              h("td", { text: String(i.position + 1) }),
              h("td", { text: i.family }),
              h("td", { text: String(i.n) }),
              h("td", { text: i.facility_percent === null ? "—" : `${i.facility_percent}%` }),
              h("td", {
                class: i.sample_too_small ? "small-n" : null,
                title: i.sample_note,
                text: fmt(i.discrimination) + (i.sample_too_small ? " (small n)" : ""),
              }),
              h("td", {
                class: i.sample_too_small ? "small-n" : null,
                text: fmt(i.upper_lower_index),
              }),
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
      text: `Rows with a discrimination under 0.2 are marked: a wrong key, an ambiguous prompt or a trick question shows there first. Below ${stats.min_n_for_discrimination} students the discrimination and the upper–lower index are greyed: one student swings them.`,
    }),
    byParameter(stats.items),
    regradePanel(id),
    h("p", {}, h("a", { href: `#/courses/${assessment.course_id}`, text: "Back to the course" })),
  );
}

// Facility per value of the variants' parameters: why an item is missed, in the family's terms.
function byParameter(items) {
  const shown = items.filter((i) => i.by_parameter && i.by_parameter.length);
  if (!shown.length) return "";
  return h(
    "section",
    { class: "panel", id: "by-parameter" },
    h("h2", { text: "Facility by the variant's parameters" }),
    shown.map((i) =>
      h(
        "div",
        { dataset: { position: i.position } },
        h("h3", { text: `Question ${i.position + 1} · ${i.family}` }),
        h(
          "ul",
          { class: "levels" },
          i.by_parameter.map((axis) =>
            h(
              "li",
              {},
              h("strong", { text: axis.parameter.replace(/_/g, " ") }),
              ": ",
              axis.levels
                .map((l) => `${String(l.value)} → ${l.facility_percent}% (n = ${l.n})`)
                .join(" · "),
            ),
          ),
        ),
      ),
    ),
  );
}

// Regrade by recomputation: see the changes first, then apply them.
function regradePanel(id) {
  const out = h("div", { id: "regrade-result" });
  const run = async (dryRun) => {
    hideError();
    try {
      const r = await api.post(`/assessments/${id}/regrade`, { dry_run: dryRun });
      const lines = r.changes.map(
        (c) =>
          `${c.name}, question ${c.position + 1}: ${c.old_status} ${formatScore(c.old_score ?? 0)} → ${c.new_status} ${formatScore(c.new_score)}`,
      );
      out.replaceChildren(
        h("p", {
          text: r.changes.length
            ? `${r.changes.length} change${r.changes.length > 1 ? "s" : ""} in ${r.changed_copies} of ${r.copies} copies${r.applied ? ", applied (the previous grades are kept in each copy's history)" : ""}.`
            : `No change: the ${r.copies} submitted copies grade the same with the current code.`,
        }),
        lines.length ? h("ul", {}, lines.map((t) => h("li", { text: t }))) : "",
        r.changes.length && !r.applied
          ? h("button", {
              type: "button",
              class: "primary",
              id: "regrade-apply",
              text: "Apply the regrade",
              onclick: () => run(false),
            })
          : "",
      );
    } catch (err) {
      showError(err);
    }
  };
  return h(
    "section",
    { class: "panel", id: "regrade" },
    h("h2", { text: "Regrade" }),
    h("p", {
      class: "muted",
      text: "Recompute every question's truth with the current code and grade each submitted answer again. You see the changes before anything is stored.",
    }),
    h("button", { type: "button", id: "regrade-dry", text: "Check for changes", onclick: () => run(true) }),
    out,
  );
}

// --- #/assessments/:id/preview ---------------------------------------------------------------

export async function renderPreview(root, id) {
  const [assessment, items] = await Promise.all([
    api.get(`/assessments/${id}`),
    api.get(`/assessments/${id}/preview`),
  ]);
  root.append(
    h("h1", { text: `${assessment.title}: preview` }),
    h("p", {
      class: "muted",
      text: "The questions as a student sees them, with the key, on variants no student is given.",
    }),
    h(
      "ol",
      { class: "exam-questions", id: "preview" },
      items.map((q) =>
        h(
          "li",
          { class: "panel" },
          h("p", { class: "meta muted", text: `${q.topic} · ${q.family} · level ${q.difficulty}` }),
          h("div", { class: "prompt" }, markdown(q.prompt)),
          q.hints.length
            ? h(
                "details",
                {},
                h("summary", { text: `Hints (${q.hints.length})` }),
                h("ol", {}, q.hints.map((t) => h("li", {}, markdown(t)))),
              )
            : "",
          h("p", { class: "expected" }, "Key: ", h("strong", { text: q.expected_display })),
          h("details", {}, h("summary", { text: "Worked solution" }), markdown(q.solution)),
        ),
      ),
    ),
    h("p", {}, h("a", { href: `#/courses/${assessment.course_id}`, text: "Back to the course" })),
  );
}

// --- #/assessments/:id/attempts/:user -------------------------------------------------------

export async function renderReview(root, id, userId) {
  const [assessment, copy] = await Promise.all([
    api.get(`/assessments/${id}`),
    api.get(`/assessments/${id}/attempts/${userId}`),
  ]);
  root.append(h("h1", { text: `${assessment.title}: ${copy.name}` }));
  const facts = [copy.status.replace("_", " ")];
  if (copy.started_at) facts.push(`started ${dateTime(copy.started_at)}`);
  if (copy.submitted_at) {
    facts.push(`submitted ${dateTime(copy.submitted_at)}${copy.auto_submitted ? " (automatically)" : ""}`);
  }
  if (copy.late) facts.push("late");
  if (copy.score !== null && copy.score !== undefined) {
    facts.push(`score ${formatScore(copy.score)} / ${formatScore(copy.max_score)}`);
  }
  root.append(h("p", { class: "muted", id: "review-facts", text: facts.join(" · ") }));
  const items = copy.items || [];
  root.append(
    h(
      "ol",
      { class: "exam-questions", id: "review" },
      items.map((i) => reviewItem(id, userId, copy, i)),
    ),
  );
  if ((copy.history || []).length) {
    root.append(
      h(
        "section",
        { class: "panel" },
        h("h2", { text: "Grades replaced" }),
        h(
          "ul",
          {},
          copy.history.map((e) =>
            h("li", {
              text: `${dateTime(e.replaced_at)} · question ${(e.position ?? 0) + 1} · ${e.reason}: was ${e.status} ${formatScore(e.override_score ?? e.score ?? 0)}`,
            }),
          ),
        ),
      ),
    );
  }
  root.append(
    h("p", {}, h("a", { href: `#/courses/${assessment.course_id}`, text: "Back to the course" })),
  );
}

function reviewItem(id, userId, copy, i) {
  const li = h(
    "li",
    { class: "panel", dataset: { position: i.position } },
    h("p", { class: "meta muted", text: `${i.topic} · ${i.family} · ${i.hints_used} hints` }),
    h("div", { class: "prompt" }, markdown(i.prompt)),
    h("p", {}, "Answer: ", h("code", { text: i.answer ?? "—" })),
  );
  if (copy.status !== "submitted") return li;
  li.append(
    h(
      "p",
      {},
      h("span", { class: `badge ${i.status}`, text: i.status }),
      ` Score ${formatScore(i.score)}`,
      i.override ? ` (grader: ${formatScore(i.computed_score)})` : "",
      " · expected ",
      h("strong", { text: i.expected_display ?? "" }),
    ),
    i.mistakes.length
      ? h("ul", {}, i.mistakes.map((m) => h("li", { text: `${m.code}: ${m.message}` })))
      : "",
  );
  const score = h("input", {
    type: "number",
    min: 0,
    max: 1,
    step: 0.05,
    id: `ov-score-${i.position}`,
    value: i.override ? i.override.score : "",
  });
  const comment = h("input", {
    id: `ov-comment-${i.position}`,
    maxlength: 2000,
    value: i.override?.comment ?? "",
  });
  li.append(
    submitting(
      h(
        "form",
        { class: "override-form" },
        h(
          "div",
          { class: "grid2" },
          field(`ov-score-${i.position}`, "Override score (0–1, empty: none)", score),
          field(`ov-comment-${i.position}`, "Comment the student sees", comment),
        ),
        h("div", { class: "row" }, h("button", { type: "submit", text: "Save override" })),
      ),
      async () => {
        await api.patch(`/assessments/${id}/attempts/${userId}/items/${i.position}`, {
          score: score.value === "" ? null : Number(score.value),
          comment: comment.value || null,
        });
        setStatus("Override saved.");
        window.dispatchEvent(new HashChangeEvent("hashchange"));
      },
    ),
  );
  return li;
}
