// Exams: generate a seeded exam, take it (one answer per question), submit it once, read the
// per-question results, and download its exports (they carry the answer key).

import { api } from "../api.js";
import { formatScore, h, hideError, markdown, setStatus, showError } from "../dom.js";
import { answerField, gradeView, hintPanel } from "../questions.js";

const EXPORTS = [
  { format: "moodle", label: "Moodle XML" },
  { format: "gift", label: "GIFT" },
  { format: "markdown", label: "Markdown" },
  { format: "json", label: "JSON" },
];

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
  root.append(
    h("h1", { text: `Exam ${exam.id}` }),
    h(
      "p",
      { class: "muted" },
      exam.assessment_id ? "Course assessment" : `Seed ${exam.seed}`,
      ` · ${exam.count} questions`,
      exam.topics ? ` · ${exam.topics.join(", ")}` : " · all topics",
      exam.deadline ? ` · due by ${new Date(exam.deadline).toLocaleString()}` : "",
    ),
  );
  const body = h("div", { id: "exam-body" });
  // A course assessment's answers are not exported before it is submitted.
  const exportable = !exam.assessment_id || exam.submitted;
  root.append(body, exportable ? exportsPanel(exam.id) : null);
  if (exam.submitted && exam.result) {
    body.append(resultView(exam, exam.result));
  } else {
    body.append(takeForm(exam, body));
  }
}

function takeForm(exam, body) {
  const fields = exam.questions.map((q, i) => ({
    q,
    field: answerField(q.answer, `q-${q.id}`),
    i,
  }));
  const submit = h("button", {
    type: "submit",
    class: "primary",
    id: "submit-exam",
    text: "Submit the exam",
  });
  const form = h(
    "form",
    { id: "take-form" },
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
          exam.hints_allowed ? hintPanel(q) : null,
          field.element,
        ),
      ),
    ),
    h("p", {
      class: "hint",
      text: "Nothing is graded before you submit, and an exam is submitted once.",
    }),
    h("div", { class: "row" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    const answers = {};
    for (const { q, field } of fields) {
      const value = field.value();
      if (value.trim()) answers[String(q.id)] = value;
    }
    submit.disabled = true;
    setStatus("Grading…");
    try {
      const result = await api.post(`/exams/${exam.id}/submit`, { answers });
      body.replaceChildren(resultView(exam, result));
      setStatus(`Score ${formatScore(result.score)} of ${result.max_score}.`);
      document.getElementById("exam-score")?.focus();
    } catch (err) {
      setStatus("");
      submit.disabled = false;
      showError(err);
    }
  });
  return form;
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
        ),
      ),
    ),
  );
}

function exportsPanel(examId) {
  const button = ({ format, label }) =>
    h("button", {
      type: "button",
      dataset: { format },
      text: label,
      onclick: async () => {
        hideError();
        try {
          const name = await api.download(`/exams/${examId}/export?format=${format}`);
          setStatus(`Downloaded ${name}.`);
        } catch (err) {
          showError(err);
        }
      },
    });
  return h(
    "section",
    { class: "panel", id: "exports" },
    h("h2", { text: "Export" }),
    h("p", {
      class: "muted",
      text: "For a class or a quiz tool; every export includes the answer key.",
    }),
    h("div", { class: "row" }, EXPORTS.map(button)),
  );
}
