// Exams: generate a seeded exam, take it (one answer per question), submit it once, read the
// per-question results, and download its exports (the formats come from GET /exams/formats,
// the server's export registry: the page names none of them).

import { api } from "../api.js";
import { formatScore, h, hideError, markdown, setStatus, showError } from "../dom.js";
import { answerField, gradeView, hintPanel, rulesView } from "../questions.js";

export async function renderBuilder(root) {
  const topics = await api.get("/topics");
  const boxes = topics.map((t) =>
    h("input", { type: "checkbox", id: `exam-topic-${t.id}`, value: t.id }),
  );
  const count = h("input", {
    type: "number",
    id: "exam-count",
    min: 1,
    max: 100,
    value: 5,
    required: true,
  });
  const seed = h("input", {
    type: "number",
    id: "exam-seed",
    min: 0,
    max: 2 ** 31 - 1,
    placeholder: "random",
    "aria-describedby": "seed-hint",
  });
  const difficulty = h(
    "select",
    { id: "exam-difficulty" },
    h("option", { value: "", text: "Mixed (by family)" }),
    [1, 2, 3].map((d) => h("option", { value: d, text: String(d) })),
  );
  const form = h(
    "form",
    { class: "panel", id: "exam-form" },
    h(
      "fieldset",
      {},
      h("legend", { text: "Topics (none ticked: all of them)" }),
      h(
        "div",
        { class: "checks" },
        topics.map((t, i) =>
          h(
            "label",
            { class: "check", for: `exam-topic-${t.id}` },
            boxes[i],
            h("span", { text: t.title }),
          ),
        ),
      ),
    ),
    h(
      "div",
      { class: "grid3" },
      h("div", { class: "field" }, h("label", { for: "exam-count", text: "Questions" }), count),
      h(
        "div",
        { class: "field" },
        h("label", { for: "exam-seed", text: "Seed" }),
        seed,
        h("p", { class: "hint", id: "seed-hint", text: "The same seed gives the same exam." }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "exam-difficulty", text: "Difficulty" }),
        difficulty,
      ),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary", text: "Generate exam" }),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    const body = { count: Number(count.value) };
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (chosen.length) body.topics = chosen;
    if (seed.value !== "") body.seed = Number(seed.value);
    if (difficulty.value) body.difficulty = Number(difficulty.value);
    setStatus("Generating the exam…");
    try {
      const exam = await api.post("/exams", body);
      location.hash = `#/exam/${exam.id}`;
    } catch (err) {
      setStatus("");
      showError(err);
    }
  });
  root.append(h("h1", { text: "Exam" }), form);
}

export async function renderExam(root, id) {
  const exam = await api.get(`/exams/${id}`);
  // A copy of a course assessment is titled by its assessment (the Courses tab stays lit).
  let title = `Exam ${exam.id}`;
  if (exam.assessment_id) {
    const assessment = await api.get(`/assessments/${exam.assessment_id}`);
    title = assessment.title;
  }
  const meta = [
    exam.assessment_id ? "Course assessment" : `Seed ${exam.seed}`,
    `${exam.count} questions`,
    exam.topics ? exam.topics.join(", ") : "all topics",
  ];
  if (exam.deadline) meta.push(`due by ${new Date(exam.deadline).toLocaleString()}`);
  if (exam.extra_minutes) meta.push(`${exam.extra_minutes} extra minutes`);
  root.append(h("h1", { text: title }), h("p", { class: "muted", text: meta.join(" · ") }));
  const body = h("div", { id: "exam-body" });
  root.append(body);
  // A course assessment's answers are not exported before it is submitted.
  if (!exam.assessment_id || exam.submitted) {
    root.append(exportsPanel(exam.id, await api.get("/exams/formats")));
  }
  if (exam.submitted && exam.result) {
    body.append(resultView(exam, exam.result));
    return null;
  }
  const taking = takeForm(exam, body);
  body.append(taking.form);
  return taking.stop;
}

// The answer as saved: typed into its box again after a reload or on another device.
function restore(field, saved) {
  if (saved === null || saved === undefined) return;
  const radio = field.element.querySelector(`input[type=radio][value="${CSS.escape(saved)}"]`);
  if (radio) radio.checked = true;
  const input = field.element.querySelector("input.answer-input");
  if (input) input.value = saved;
}

// The hints already paid for, listed again (their text comes with the exam).
function withShownHints(panel, q) {
  if (!panel) return null;
  const list = panel.querySelector("ol.hints");
  for (const text of q.shown_hints || []) list.append(h("li", {}, markdown(text)));
  return panel;
}

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

const SAVE_DELAY_MS = 800; // after the last key: a save per pause, not per keystroke
const GRACE_MS = 62_000; // the server submits the saved answers a minute after the deadline

function takeForm(exam, body) {
  const fields = exam.questions.map((q, i) => ({
    q,
    field: answerField(q.answer, `q-${q.id}`),
    i,
  }));
  for (const { q, field } of fields) restore(field, q.saved_answer);
  const submit = h("button", {
    type: "submit",
    class: "primary",
    id: "submit-exam",
    text: "Submit the exam",
  });
  const saveState = h("p", { class: "muted", id: "save-status", role: "status" });
  const countdown = h("p", { class: "countdown", id: "countdown", hidden: true });
  const form = h(
    "form",
    { id: "take-form" },
    countdown,
    h(
      "ol",
      { class: "exam-questions" },
      fields.map(({ q, field }) =>
        h(
          "li",
          { class: "panel", dataset: { questionId: q.id } },
          h(
            "p",
            { class: "meta" },
            h("span", { class: "muted", text: `${q.topic} · ${q.family}` }),
          ),
          h("div", { class: "prompt" }, markdown(q.prompt)),
          rulesView(q),
          exam.hints_allowed ? withShownHints(hintPanel(q), q) : null,
          field.element,
        ),
      ),
    ),
    h("p", {
      class: "hint",
      text: exam.assessment_id
        ? "Your answers are saved as you type; nothing is graded before you submit. At the deadline what is saved is submitted for you."
        : "Your answers are saved as you type; nothing is graded before you submit, and an exam is submitted once.",
    }),
    saveState,
    h("div", { class: "row" }, submit),
  );

  // Saving as typed: the questions changed since the last save go in one PUT.
  const saved = new Map(exam.questions.map((q) => [q.id, q.saved_answer ?? ""]));
  let timer = null;
  let saving = Promise.resolve();
  let closed = false;
  const save = () => {
    timer = null;
    const changes = {};
    for (const { q, field } of fields) {
      const value = field.value();
      if (value !== saved.get(q.id)) changes[String(q.id)] = value;
    }
    if (!Object.keys(changes).length || closed) return saving;
    saveState.textContent = "Saving…";
    saving = saving.then(async () => {
      try {
        const out = await api.put(`/exams/${exam.id}/answers`, { answers: changes });
        for (const [qid, value] of Object.entries(changes)) saved.set(Number(qid), value);
        saveState.textContent = `Saved at ${new Date(out.server_time).toLocaleTimeString()}.`;
      } catch (err) {
        saveState.textContent = `Not saved: ${err instanceof Error ? err.message : err}`;
        if (err && err.status === 409) reload();
      }
    });
    return saving;
  };
  const later = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("focusout", () => save());
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

  // The countdown runs on the server's clock: the device's may be wrong.
  let ticker = null;
  let finish = null;
  if (exam.deadline) {
    const skew = Date.parse(exam.server_time) - Date.now();
    const deadline = Date.parse(exam.deadline);
    countdown.hidden = false;
    const tick = () => {
      const left = deadline - (Date.now() + skew);
      if (left > 0) {
        countdown.textContent = `Time left: ${clock(left)}`;
        countdown.classList.toggle("urgent", left < 60_000);
        return;
      }
      clearInterval(ticker);
      ticker = null;
      countdown.textContent = exam.assessment_id
        ? "Time is up: your saved answers are being submitted."
        : "Time is up: a submission now is flagged late.";
      if (!exam.assessment_id) return;
      save().then(() => {
        closed = true;
        for (const { field } of fields) field.disable(true);
        submit.disabled = true;
        // The server submits what was saved once the grace has passed; then show the result.
        finish = setTimeout(reload, Math.max(0, deadline + GRACE_MS - (Date.now() + skew)));
      });
    };
    tick();
    ticker = setInterval(tick, 1000);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    if (timer) clearTimeout(timer);
    const answers = {};
    for (const { q, field } of fields) {
      const value = field.value();
      if (value.trim()) answers[String(q.id)] = value;
    }
    submit.disabled = true;
    setStatus("Grading…");
    try {
      await saving;
      const result = await api.post(`/exams/${exam.id}/submit`, { answers });
      closed = true;
      stop();
      body.replaceChildren(resultView(exam, result));
      setStatus(`Score ${formatScore(result.score)} of ${result.max_score}.`);
      document.getElementById("exam-score")?.focus();
    } catch (err) {
      setStatus("");
      submit.disabled = false;
      showError(err);
    }
  });
  const stop = () => {
    if (timer) {
      clearTimeout(timer);
      save();
    }
    if (ticker) clearInterval(ticker);
    if (finish) clearTimeout(finish);
  };
  return { form, stop };
}

function resultView(exam, result) {
  const prompts = new Map(exam.questions.map((q) => [q.id, q.prompt]));
  return h(
    "div",
    { id: "exam-result" },
    h(
      "section",
      { class: "panel score-panel" },
      h(
        "h2",
        { id: "exam-score", tabindex: -1 },
        `Score ${formatScore(result.score)} / ${formatScore(result.max_score)}`,
        h("span", { class: "muted", text: ` (${result.percent}%)` }),
      ),
      result.late
        ? h("p", {
            class: "warn",
            text: "Submitted after the time limit: scored, but flagged late.",
          })
        : null,
      result.auto_submitted
        ? h("p", {
            class: "muted",
            id: "auto-submitted",
            text: "Submitted automatically at the deadline, with the answers you had saved.",
          })
        : null,
      h(
        "table",
        { class: "by-topic" },
        h("caption", { text: "By topic" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col", text: "Topic" }),
            h("th", { scope: "col", text: "Score" }),
          ),
        ),
        h(
          "tbody",
          {},
          Object.entries(result.by_topic).map(([topic, t]) =>
            h(
              "tr",
              {},
              h("th", { scope: "row", text: topic }),
              h("td", {
                text: `${formatScore(t.score)} / ${formatScore(t.max_score)} (${t.percent}%)`,
              }),
            ),
          ),
        ),
      ),
    ),
    h(
      "ol",
      { class: "exam-questions" },
      result.per_question.map((r) =>
        h(
          "li",
          { class: "panel", dataset: { questionId: r.question_id, status: r.status } },
          h("div", { class: "prompt" }, markdown(prompts.get(r.question_id) || "")),
          gradeView(r, { answer: r.answer }),
          r.computed_score !== null && r.computed_score !== undefined
            ? h(
                "p",
                { class: "override" },
                h("strong", { text: "Your instructor set this score" }),
                ` (the grader gave ${formatScore(r.computed_score)})`,
                r.comment ? `: ${r.comment}` : ".",
              )
            : null,
        ),
      ),
    ),
  );
}

// One button per registered format; a download names no part, so each gives the format's
// default (a printable paper for a format people print, the answer key for the others).
function exportsPanel(examId, formats) {
  const button = ({ name, label, description }) =>
    h("button", {
      type: "button",
      dataset: { format: name },
      title: description,
      text: label,
      onclick: async () => {
        hideError();
        try {
          const file = await api.download(`/exams/${examId}/export?format=${name}`);
          setStatus(`Downloaded ${file}.`);
        } catch (err) {
          showError(err);
        }
      },
    });
  const papers = formats.filter((f) => f.default_part === "exam").map((f) => f.label);
  const note = papers.length
    ? `${papers.join(", ")}: a printable paper without the answers; the others include the answer key.`
    : "Every export includes the answer key.";
  return h(
    "section",
    { class: "panel", id: "exports" },
    h("h2", { text: "Export" }),
    h("p", { class: "muted", text: `For a class or a quiz tool. ${note}` }),
    h("div", { class: "row" }, formats.map(button)),
  );
}
