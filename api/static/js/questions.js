// Pieces shared by the study session and the exam: an answer field that fits the question's
// answer spec, hints on request, and the rendering of a grade (status, score, named mistakes,
// solution, the cards that teach it).

import { api } from "./api.js";
import { formatScore, h, hideError, markdown, showError } from "./dom.js";

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

// What a readable answer looks like: the answer kind's own line, sent by the API with the
// spec (each kind's module in grader/kinds writes it), so the page never restates a rule.
export function answerHint(spec) {
  return spec.form || "";
}

// The conventions and the answering rule of a question, stated once and folded under it, so
// that the question itself stays in view (on a phone the answer box would push it away).
export function rulesView(question) {
  if (!question.rules) return null;
  return h(
    "details",
    { class: "rules" },
    h("summary", { text: "Conventions and how to answer" }),
    h("p", { text: question.rules }),
  );
}

// Each answer kind's widget (grader/kinds has the kind itself): {element, value(), focus(),
// disable()}. A kind without a widget of its own gets one text input, which the grader reads.
function choiceWidget(spec, id, hint) {
  const radios = spec.choices.map((choice, i) =>
    h("input", { type: "radio", name: id, id: `${id}-${i}`, value: LETTERS[i] }),
  );
  const element = h(
    "fieldset",
    { class: "choices", "aria-describedby": hint.id },
    h("legend", { text: "Your answer" }),
    spec.choices.map((choice, i) =>
      h("label", { for: `${id}-${i}`, class: "choice" }, radios[i], ` (${LETTERS[i]}) ${choice}`),
    ),
    hint,
  );
  return {
    element,
    value: () => radios.find((r) => r.checked)?.value ?? "",
    focus: () => radios[0]?.focus(),
    disable: (off) => radios.forEach((r) => (r.disabled = off)),
  };
}

function textWidget(spec, id, hint) {
  const input = h("input", {
    id,
    name: id,
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: 500,
    "aria-describedby": hint.id,
    class: "answer-input",
  });
  const element = h(
    "div",
    { class: "field" },
    h("label", { for: id, text: "Your answer" }),
    input,
    hint,
  );
  return {
    element,
    value: () => input.value,
    focus: () => input.focus(),
    disable: (off) => (input.disabled = off),
  };
}

const WIDGETS = { choice: choiceWidget };

// The answer field of a question's spec: its kind's widget, with the kind's own line on how
// to write the answer (from the API) under it.
export function answerField(spec, id) {
  const hint = h("p", { class: "hint", id: `${id}-hint`, text: answerHint(spec) });
  return (WIDGETS[spec.kind] || textWidget)(spec, id, hint);
}

const STATUS_TEXT = {
  correct: "Correct",
  partial: "Partly correct",
  incorrect: "Incorrect",
  invalid: "Could not read the answer",
  unanswered: "Not answered",
};

// A grade as the API returns it: {status, score, feedback, expected_display, diagnosis,
// solution}. The named mistakes come first after the verdict: they are the lesson.
export function gradeView(grade, { answer } = {}) {
  const status = grade.status;
  const parts = [
    h(
      "p",
      { class: "verdict" },
      h("span", { class: `badge ${status}`, text: STATUS_TEXT[status] || status }),
      " ",
      h("span", { class: "score", text: `Score ${formatScore(grade.score)} / 1` }),
      grade.max_score !== undefined && grade.max_score < 1
        ? h("span", {
            class: "muted",
            text: ` (at most ${formatScore(grade.max_score)} after hints)`,
          })
        : null,
    ),
  ];
  if (answer !== undefined && answer !== null) {
    parts.push(h("p", {}, "Your answer: ", h("code", { text: answer })));
  }
  // The named mistakes are listed below with their sentence: the feedback keeps only what
  // it says besides them, so no sentence is printed twice.
  let feedback = grade.feedback || "";
  for (const d of grade.diagnosis || []) {
    if (d.message) feedback = feedback.replace(d.message, "");
  }
  feedback = feedback.replace(/\s+/g, " ").trim();
  if (/^[\s.:;,—–-]*$/.test(feedback)) feedback = "";
  if (feedback) parts.push(h("p", { class: "feedback", text: feedback }));
  if (grade.diagnosis && grade.diagnosis.length) {
    parts.push(
      h(
        "div",
        { class: "diagnosis" },
        h("h3", { text: "The mistake" }),
        h(
          "ul",
          {},
          grade.diagnosis.map((d) =>
            h(
              "li",
              { dataset: { code: d.code } },
              h("strong", { text: d.code.replace(/_/g, " ") }),
              d.part ? ` (${d.part})` : "",
              ": ",
              d.message,
            ),
          ),
        ),
      ),
    );
  }
  if (status !== "invalid") {
    parts.push(
      h("p", { class: "expected" }, "Expected: ", h("strong", { text: grade.expected_display })),
      h(
        "div",
        { class: "solution" },
        h("h3", { text: "Worked solution" }),
        markdown(grade.solution),
      ),
    );
  }
  if (grade.cards && grade.cards.length) parts.push(teachingCards(grade.cards));
  return h("div", { class: `grade ${status}` }, parts);
}

// The note cards that teach the question: each opens in place (front, then back).
function teachingCards(ids) {
  const open = async (id, li, button) => {
    hideError();
    try {
      const card = await api.get(`/cards/${encodeURIComponent(id)}`);
      button.remove();
      li.append(
        h("div", { class: "card-front" }, markdown(card.front)),
        h("div", { class: "card-back" }, markdown(card.back)),
      );
    } catch (err) {
      showError(err);
    }
  };
  return h(
    "div",
    { class: "teaching-cards" },
    h("h3", { text: "Read again" }),
    h(
      "ul",
      {},
      ids.map((id) => {
        const li = h("li", { dataset: { card: id } });
        // Named by the card's question (its front), not its id; the id until it loads.
        const button = h("button", { type: "button", class: "quiet", text: "Open the card" });
        button.addEventListener("click", () => open(id, li, button));
        li.append(button);
        api
          .get(`/cards/${encodeURIComponent(id)}`)
          .then((card) => {
            const first = String(card.front).split("\n")[0].replace(/[`*]/g, "").trim();
            button.textContent = first.length > 90 ? `${first.slice(0, 89)}…` : first;
          })
          .catch(() => {
            button.textContent = id;
          });
        return li;
      }),
    ),
  );
}

// Hints on request for a question with some: each one shown lowers the most the answer can
// score (the server counts them and says how much).
export function hintPanel(question) {
  if (!question.hints) return null;
  const list = h("ol", { class: "hints" });
  const note = h("p", { class: "hint" });
  const button = h("button", { type: "button", class: "hint-button" });
  let used = question.hints_used || 0;
  const update = (cap) => {
    button.textContent = `Show hint ${used + 1} of ${question.hints}`;
    button.hidden = used >= question.hints;
    note.textContent = used
      ? `${used} hint${used > 1 ? "s" : ""} shown: this answer scores at most ${formatScore(cap)}.`
      : "Each hint lowers the most this answer can score by a quarter.";
  };
  button.addEventListener("click", async () => {
    hideError();
    button.disabled = true;
    try {
      const out = await api.post(`/questions/${question.id}/hint`, {});
      used = out.number;
      list.append(h("li", {}, markdown(out.hint)));
      update(out.max_score);
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
  update(Math.max(0.25, 1 - 0.25 * used));
  return h("div", { class: "hint-panel" }, list, note, button);
}
