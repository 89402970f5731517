// Study: pick topics and start a session, then work through it one item at a time.
// Keyboard: Space shows the answer, 1–4 rate it, Enter submits a question's answer.

import { api } from "../api.js";
import { dateTime, h, hideError, markdown, setStatus, showError } from "../dom.js";
import { answerField, gradeView, hintPanel, rulesView } from "../questions.js";

const RATINGS = [
  { key: "1", name: "again", label: "Again" },
  { key: "2", name: "hard", label: "Hard" },
  { key: "3", name: "good", label: "Good" },
  { key: "4", name: "easy", label: "Easy" },
];
const MAX_ELAPSED_MS = 86400000; // the API's bound on elapsed_ms

// --- setup -----------------------------------------------------------------------------------

export async function renderSetup(root) {
  const topics = await api.get("/topics");
  // The family list costs the server a few seconds on its first call: show the form at once
  // and fill the families in when they arrive.
  let families = null;
  root.append(h("h1", { text: "Study" }));

  const topicBoxes = topics.map((t) =>
    h("input", { type: "checkbox", id: `topic-${t.id}`, name: "topics", value: t.id }),
  );
  const includeQuestions = h("input", { type: "checkbox", id: "include-questions" });
  const familyList = h("div", { class: "checks" });
  const familyBox = h(
    "details",
    { class: "families", id: "families" },
    h("summary", { text: "Question families (optional: all of the topics' families by default)" }),
    familyList,
  );
  familyBox.hidden = true;
  const size = h("input", { type: "number", id: "size", min: 1, max: 500, value: 20 });
  const tags = h("input", { type: "text", id: "session-tags", maxlength: 1300 });
  const newLimit = h("input", { type: "number", id: "new-limit", min: 0, max: 500, value: 10 });

  const chosenTopics = () => topicBoxes.filter((b) => b.checked).map((b) => b.value);
  // Offer only the families the session would draw from: those of the chosen topics.
  const renderFamilies = () => {
    if (families === null) {
      familyList.replaceChildren(
        h("p", { class: "muted", text: "Loading the question families…" }),
      );
      return;
    }
    const wanted = new Set(chosenTopics());
    const kept = new Set([...familyList.querySelectorAll("input:checked")].map((b) => b.value));
    familyList.replaceChildren(
      ...families
        .filter((f) => !wanted.size || wanted.has(f.topic))
        .map((f) =>
          h(
            "label",
            { class: "check", for: `family-${f.id}` },
            h("input", {
              type: "checkbox",
              id: `family-${f.id}`,
              value: f.id,
              checked: kept.has(f.id),
            }),
            h("span", {}, `${f.title} `, h("span", { class: "muted", text: f.id })),
          ),
        ),
    );
  };
  topicBoxes.forEach((b) => b.addEventListener("change", renderFamilies));
  includeQuestions.addEventListener("change", () => {
    familyBox.hidden = !includeQuestions.checked;
  });
  renderFamilies();
  api.get("/questions/families").then(
    (list) => {
      families = list;
      renderFamilies();
    },
    (err) => {
      familyList.replaceChildren(
        h("p", {
          class: "warn",
          text: `The question families could not be loaded: ${err.message}`,
        }),
      );
    },
  );

  const setAll = (on) => () => {
    topicBoxes.forEach((b) => (b.checked = on));
    renderFamilies();
  };
  const form = h(
    "form",
    { class: "panel", id: "session-form" },
    h(
      "fieldset",
      {},
      h("legend", { text: "Topics (none ticked: all of them)" }),
      h(
        "div",
        { class: "row small" },
        h("button", { type: "button", class: "quiet", text: "All", onclick: setAll(true) }),
        h("button", { type: "button", class: "quiet", text: "None", onclick: setAll(false) }),
      ),
      h(
        "div",
        { class: "checks" },
        topics.map((t, i) =>
          h(
            "label",
            { class: "check", for: `topic-${t.id}` },
            topicBoxes[i],
            h("span", {}, `${t.title} `, h("span", { class: "muted", text: `${t.cards} cards` })),
          ),
        ),
      ),
    ),
    h(
      "label",
      { class: "check", for: "include-questions" },
      includeQuestions,
      " Include generated questions (numbers computed from real torch layers)",
    ),
    familyBox,
    h(
      "div",
      { class: "field" },
      h("label", {
        for: "session-tags",
        text: "Only cards with one of these tags (space-separated)",
      }),
      tags,
    ),
    h(
      "div",
      { class: "grid2" },
      h(
        "div",
        { class: "field" },
        h("label", { for: "size", text: "Answers in this session" }),
        size,
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "new-limit", text: "New items at most" }),
        newLimit,
      ),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { class: "primary", type: "submit", text: "Start session" }),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    const body = {
      size: Number(size.value),
      new_limit: Number(newLimit.value),
      include_questions: includeQuestions.checked,
    };
    const chosen = chosenTopics();
    if (chosen.length) body.topics = chosen;
    const wantedTags = tags.value.split(/\s+/).filter(Boolean);
    if (wantedTags.length) body.tags = wantedTags;
    const fams = [...familyList.querySelectorAll("input:checked")].map((b) => b.value);
    if (includeQuestions.checked && fams.length) body.families = fams;
    try {
      const session = await api.post("/sessions", body);
      location.hash = `#/study/${session.id}`;
    } catch (err) {
      showError(err);
    }
  });
  root.append(form);
}

// --- a running session -----------------------------------------------------------------------

export async function renderSession(root, id) {
  const info = await api.get(`/sessions/${id}`);
  let answered = info.answered;
  const bar = h("progress", { max: info.size, value: answered, "aria-label": "Session progress" });
  const count = h("span", { id: "session-count" });
  const showCount = () => {
    bar.value = answered;
    count.textContent = `${answered} of ${info.size} answered`;
  };
  showCount();
  const stage = h("div", { id: "stage" });
  root.append(
    h(
      "div",
      { class: "session-head" },
      h("h1", { text: `Session ${info.id}` }),
      h("p", { class: "muted" }, info.topics.length ? info.topics.join(", ") : "All topics"),
      h("div", { class: "progressline" }, bar, count),
    ),
    stage,
  );

  let current = null; // the item on screen: {onKey(event)}
  const onAnswered = (recorded) => {
    if (recorded) answered += 1;
    showCount();
    next();
  };

  async function next() {
    current = null;
    setStatus("Loading the next item…");
    let item;
    try {
      item = await api.get(`/sessions/${id}/next`);
    } catch (err) {
      showError(err);
      stage.replaceChildren(
        h("p", {}, "The next item could not be loaded. "),
        h("button", { type: "button", text: "Try again", onclick: next }),
      );
      return;
    }
    setStatus("");
    if (item.done) {
      stage.replaceChildren(doneView(answered));
      return;
    }
    current =
      item.kind === "card"
        ? cardView(stage, id, item, onAnswered)
        : questionView(stage, id, item, onAnswered);
  }

  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    // Typing an answer: digits and spaces belong to the text box, not to the shortcuts.
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    if (current && current.onKey) current.onKey(e);
  };
  document.addEventListener("keydown", onKey);
  await next();
  return () => document.removeEventListener("keydown", onKey);
}

function doneView(answered) {
  const view = h(
    "section",
    { class: "panel done", tabindex: -1 },
    h("h2", { text: "Session complete" }),
    h("p", { text: `${answered} answers recorded. Nothing more is due in this session.` }),
    h(
      "div",
      { class: "row" },
      h("a", { class: "button primary", href: "#/study", text: "Start another session" }),
      h("a", { class: "button", href: "#/progress", text: "See progress" }),
    ),
  );
  queueMicrotask(() => view.focus());
  return view;
}

// --- a card ----------------------------------------------------------------------------------

function cardView(stage, sessionId, item, onAnswered) {
  const card = item.card;
  const shownAt = performance.now();
  let revealed = false;
  let busy = false;
  // Fetch the examples at once, so they are usually there by the time the back is shown.
  const detail = api.get(`/cards/${encodeURIComponent(card.id)}`);
  detail.catch(() => {}); // a failure is shown on reveal, not as an unhandled rejection

  const revealButton = h(
    "button",
    { type: "button", class: "primary reveal", id: "reveal" },
    "Show answer ",
    h("kbd", { text: "Space" }),
  );
  const back = h(
    "section",
    { class: "back", id: "card-back", "aria-label": "Answer", hidden: true },
    markdown(card.back),
  );
  const examples = h("section", { class: "examples", id: "examples", hidden: true });
  const ratingButtons = RATINGS.map((r) => {
    const interval = item.intervals?.[r.name]?.label ?? "";
    return h(
      "button",
      {
        type: "button",
        class: `rate ${r.name}`,
        dataset: { rating: r.name },
        "aria-label": `${r.label}, due again in ${interval} (key ${r.key})`,
        onclick: () => rate(r.name),
      },
      h("span", { class: "rate-name", text: r.label }),
      h("span", { class: "rate-interval", text: interval }),
      h("kbd", { text: r.key }),
    );
  });
  const ratings = h(
    "div",
    { class: "ratings", id: "ratings", hidden: true, role: "group", "aria-label": "Rate" },
    ratingButtons,
  );
  // Set the card aside for good (suspend) or until tomorrow (bury): the session moves on.
  const setAside = (verb) => async () => {
    if (busy) return;
    busy = true;
    try {
      await api.post(`/cards/${encodeURIComponent(card.id)}/${verb}`);
      setStatus(verb === "suspend" ? "Card suspended." : "Card buried until tomorrow.");
      onAnswered(false);
    } catch (err) {
      showError(err);
      busy = false;
    }
  };
  const asideButtons = h(
    "div",
    { class: "row small aside" },
    h("button", {
      type: "button",
      class: "quiet",
      id: "suspend",
      text: "Suspend",
      onclick: setAside("suspend"),
    }),
    h("button", {
      type: "button",
      class: "quiet",
      id: "bury",
      text: "Bury until tomorrow",
      onclick: setAside("bury"),
    }),
  );
  const view = h(
    "article",
    { class: "card panel", id: "card", tabindex: -1, dataset: { itemId: item.item_id } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: "pill", text: item.state || "new" }),
      ` ${card.topic} · `,
      h("span", { class: "muted", text: card.source }),
    ),
    h("div", { class: "front", id: "card-front" }, markdown(card.front)),
    revealButton,
    back,
    examples,
    ratings,
    asideButtons,
  );
  stage.replaceChildren(view);
  view.focus();

  function reveal() {
    if (revealed) return;
    revealed = true;
    revealButton.hidden = true;
    back.hidden = false;
    ratings.hidden = false;
    view.focus(); // the button that had focus is gone; keep the shortcuts working
    detail.then(
      (d) => renderExamples(examples, d.examples),
      (err) => {
        examples.hidden = false;
        examples.replaceChildren(h("p", { class: "warn", text: `Examples: ${err.message}` }));
      },
    );
  }

  async function rate(rating) {
    if (busy || !revealed) return;
    busy = true;
    ratingButtons.forEach((b) => (b.disabled = true));
    try {
      const elapsed = Math.min(Math.round(performance.now() - shownAt), MAX_ELAPSED_MS);
      const out = await api.post(`/sessions/${sessionId}/answer`, {
        item_id: item.item_id,
        rating,
        elapsed_ms: elapsed,
      });
      setStatus(`Rated ${rating}: due again in ${out.interval}.`);
      onAnswered(out.recorded);
    } catch (err) {
      showError(err);
      busy = false;
      ratingButtons.forEach((b) => (b.disabled = false));
    }
  }

  revealButton.addEventListener("click", reveal);
  return {
    onKey(e) {
      if (e.repeat) return;
      if (e.key === " " || e.key === "Spacebar") {
        // A focused button handles Space itself (that is how buttons work); elsewhere it
        // reveals the answer instead of scrolling the page.
        if (e.target.closest && e.target.closest("button, a")) return;
        e.preventDefault();
        reveal();
        return;
      }
      const r = RATINGS.find((x) => x.key === e.key);
      if (r && revealed) {
        e.preventDefault();
        rate(r.name);
      }
    },
  };
}

// Each example with the output of its real run; an example not run yet says so and shows the
// note's expected block under that name, never as if it were the output.
function renderExamples(section, list) {
  section.hidden = !list.length;
  if (!list.length) return;
  section.replaceChildren(
    h("h3", { text: list.length === 1 ? "Example" : "Examples" }),
    ...list.map((ex, i) => {
      const blocks = [
        h(
          "pre",
          { class: "code", "aria-label": `Example ${i + 1} code` },
          h("code", { text: ex.code }),
        ),
      ];
      if (ex.ran_at) {
        const verdict = ex.ok ? "matches the note" : "differs from the note's expected output";
        blocks.push(
          h(
            "p",
            { class: `run ${ex.ok ? "ok" : "bad"}` },
            `Output of the run at ${dateTime(ex.ran_at)}`,
            ex.duration_ms !== null && ex.duration_ms !== undefined
              ? ` (${ex.duration_ms} ms)`
              : "",
            `: ${verdict}`,
          ),
          h("pre", { class: "output" }, h("code", { text: ex.output ?? "" })),
        );
        if (!ex.ok) {
          blocks.push(
            h("p", { class: "run", text: "Expected by the note:" }),
            h("pre", { class: "output expected" }, h("code", { text: ex.expected_output })),
          );
        }
      } else {
        blocks.push(
          h("p", {
            class: "run pending",
            text: "Not run yet on this server. Expected by the note:",
          }),
          h("pre", { class: "output expected" }, h("code", { text: ex.expected_output })),
        );
      }
      return h("div", { class: "example" }, blocks);
    }),
  );
}

// --- a generated question --------------------------------------------------------------------

function questionView(stage, sessionId, item, onAnswered) {
  const q = item.question;
  const shownAt = performance.now();
  let graded = false;
  let busy = false;
  const field = answerField(q.answer, "answer");
  const submit = h(
    "button",
    { type: "submit", class: "primary", id: "check" },
    "Check ",
    h("kbd", { text: "Enter" }),
  );
  const result = h("div", { id: "grade", "aria-live": "polite" });
  const nextButton = h("button", {
    type: "button",
    class: "primary",
    id: "next",
    text: "Next",
    hidden: true,
  });
  const form = h(
    "form",
    { class: "answer-form", id: "answer-form" },
    field.element,
    h("div", { class: "row" }, submit),
  );
  const view = h(
    "article",
    { class: "question panel", id: "question", dataset: { itemId: item.item_id } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: "pill q", text: "question" }),
      ` ${q.topic} · `,
      h("span", {
        class: "muted",
        text: `${q.family}, difficulty ${q.difficulty}, seed ${q.seed}`,
      }),
    ),
    h("div", { class: "prompt", id: "prompt" }, markdown(q.prompt)),
    rulesView(q),
    hintPanel(q),
    form,
    result,
    nextButton,
  );
  stage.replaceChildren(view);
  field.focus();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy || graded) return;
    const answer = field.value();
    if (!answer.trim()) {
      showError(new Error("Type an answer first."));
      return;
    }
    busy = true;
    submit.disabled = true;
    hideError();
    try {
      const elapsed = Math.min(Math.round(performance.now() - shownAt), MAX_ELAPSED_MS);
      const out = await api.post(`/sessions/${sessionId}/answer`, {
        item_id: item.item_id,
        answer,
        elapsed_ms: elapsed,
      });
      const parts = [gradeView(out.grade, { answer })];
      if (!out.recorded) {
        // Unreadable: nothing was recorded and the same question is still pending.
        parts.push(
          h("p", { class: "warn", text: "Not recorded: change the answer and check again." }),
        );
        result.replaceChildren(...parts);
        field.focus();
        return;
      }
      graded = true;
      field.disable(true);
      submit.hidden = true;
      parts.push(
        h("p", { class: "muted", text: `Rated ${out.rating}: due again in ${out.interval}.` }),
      );
      result.replaceChildren(...parts);
      nextButton.hidden = false;
      nextButton.focus(); // Enter (or Space) moves on
      nextButton.addEventListener("click", () => onAnswered(true), { once: true });
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });

  return {
    onKey(e) {
      if (graded && e.key === "Enter" && !(e.target.closest && e.target.closest("button, a"))) {
        e.preventDefault();
        nextButton.click();
      }
    },
  };
}
