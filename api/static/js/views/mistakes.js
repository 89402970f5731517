// My mistakes: the questions you answered wrong, with the mistake named and the worked
// solution, and a fresh variant of the same family to try again (never the same numbers).

import { api } from "../api.js";
import { dateTime, formatScore, h, hideError, markdown, showError } from "../dom.js";
import { answerField, gradeView } from "../questions.js";

const PAGE = 20;

export async function render(root) {
  root.append(h("h1", { text: "My mistakes" }));
  const status = h(
    "select",
    { id: "attempt-status" },
    h("option", { value: "incorrect", text: "incorrect" }),
    h("option", { value: "partial", text: "partly correct" }),
    h("option", { value: "", text: "all graded answers" }),
  );
  const list = h("div", { id: "attempts" });
  let offset = 0;
  const load = async () => {
    hideError();
    const params = new URLSearchParams({ limit: PAGE, offset });
    if (status.value) params.set("status", status.value);
    const page = await api.get(`/questions/attempts?${params}`);
    const pager = h(
      "div",
      { class: "row" },
      h("button", { type: "button", text: "Newer", disabled: offset === 0, onclick: () => move(-PAGE) }),
      h("span", {
        class: "muted",
        text: page.count ? `${offset + 1}–${offset + page.data.length} of ${page.count}` : "",
      }),
      h("button", {
        type: "button",
        text: "Older",
        disabled: offset + PAGE >= page.count,
        onclick: () => move(PAGE),
      }),
    );
    list.replaceChildren(
      page.count ? pager : h("p", { id: "no-mistakes", text: "Nothing here: no such answers yet." }),
      ...page.data.map(attemptView),
    );
  };
  const move = (delta) => {
    offset = Math.max(0, offset + delta);
    load().catch(showError);
  };
  status.addEventListener("change", () => {
    offset = 0;
    load().catch(showError);
  });
  root.append(
    h("div", { class: "field" }, h("label", { for: "attempt-status", text: "Show" }), status),
    list,
  );
  await load();
}

function attemptView(a) {
  const retry = h("div", { class: "retry" });
  const mistakes = a.diagnosis.length
    ? h("ul", { class: "diagnosis" }, a.diagnosis.map((d) => h("li", { text: d.message })))
    : null;
  return h(
    "article",
    { class: "panel attempt", dataset: { family: a.family } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: `badge ${a.status}`, text: a.status }),
      ` ${a.family_title} · ${a.topic} · ${a.source} · ${dateTime(a.created_at)}`,
    ),
    h("div", { class: "prompt" }, markdown(a.prompt)),
    h("p", {}, "Your answer: ", h("code", { text: a.answer }), ` (score ${formatScore(a.score)})`),
    h("p", {}, "Expected: ", h("code", { text: a.expected_display })),
    mistakes,
    h("details", {}, h("summary", { text: "Worked solution" }), markdown(a.solution)),
    h("button", {
      type: "button",
      class: "primary try-again",
      text: "Try a fresh variant",
      onclick: () => tryAgain(retry, a.family).catch(showError),
    }),
    retry,
  );
}

// A new variant of the family (a random seed), answered and graded here like practice.
async function tryAgain(box, family) {
  hideError();
  const q = await api.post("/questions", { family });
  const field = answerField(q.answer, `retry-${q.id}`);
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "answer-form" },
    field.element,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Check" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const answer = field.value();
    if (!answer.trim()) return;
    try {
      const grade = await api.post(`/questions/${q.id}/grade`, { answer });
      result.replaceChildren(gradeView(grade, { answer }));
    } catch (err) {
      showError(err);
    }
  });
  box.replaceChildren(h("div", { class: "prompt fresh" }, markdown(q.prompt)), form, result);
  field.focus();
}
