// Exam readiness: how much of what you studied you are predicted to recall on the exam day
// (FSRS's forgetting curve with your parameters), per topic, and a session of exactly the
// items most likely forgotten by then.

import { api } from "../api.js";
import { h, hideError, percent, showError } from "../dom.js";

const NS = "http://www.w3.org/2000/svg";
const DEFAULT_DAYS_AHEAD = 14;

export async function render(root) {
  root.append(h("h1", { text: "Exam readiness" }));
  const ahead = new Date(Date.now() + DEFAULT_DAYS_AHEAD * 86400000);
  const day = h("input", {
    type: "date",
    id: "exam-date",
    min: new Date().toISOString().slice(0, 10),
    value: ahead.toISOString().slice(0, 10),
  });
  const topics = await api.get("/topics");
  const topicPick = h(
    "select",
    { id: "exam-topics", multiple: true, size: Math.min(6, topics.length) },
    topics.map((t) => h("option", { value: t.id, text: t.title })),
  );
  const out = h("div", { id: "readiness" });
  const form = h(
    "form",
    { class: "panel", id: "readiness-form" },
    h(
      "div",
      { class: "grid2" },
      h("div", { class: "field" }, h("label", { for: "exam-date", text: "Exam day (UTC)" }), day),
      h(
        "div",
        { class: "field" },
        h("label", { for: "exam-topics", text: "Topics (none chosen: all)" }),
        topicPick,
      ),
    ),
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Forecast" })),
  );
  const load = async () => {
    hideError();
    const params = new URLSearchParams({ date: day.value, limit: 50 });
    for (const o of topicPick.selectedOptions) params.append("topics", o.value);
    const r = await api.get(`/progress/readiness?${params}`);
    out.replaceChildren(...report(r));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load().catch(showError);
  });
  root.append(form, out);
  await load();
}

function report(r) {
  if (!r.items) {
    return [h("p", { id: "readiness-empty", text: "Nothing studied yet: there is nothing to forecast." })];
  }
  const summary = h(
    "p",
    { id: "readiness-summary" },
    `On ${r.date} you are predicted to recall `,
    h("strong", { text: percent(r.recall, 1) }),
    ` of ${r.items} studied items (desired retention ${percent(r.desired_retention)}, ` +
      `${r.parameters === "fitted" ? "your fitted" : "default"} FSRS parameters).`,
  );
  const rows = r.topics.map((t) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", text: t.topic }),
      h("td", { text: String(t.items) }),
      h("td", { text: percent(t.recall, 1) }),
      h("td", { text: String(t.at_risk) }),
    ),
  );
  const table = h(
    "table",
    { id: "readiness-table" },
    h("caption", { text: "Per topic" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Topic", "Items", "Predicted recall", "Below target"].map((x) => h("th", { scope: "col", text: x })),
      ),
    ),
    h("tbody", {}, rows),
  );
  const parts = [summary, recallChart(r.topics, r.desired_retention), table];
  if (r.at_risk.length) {
    const start = h("button", {
      type: "button",
      class: "primary",
      id: "study-at-risk",
      text: `Study these ${r.at_risk.length} items now`,
      onclick: () => studyThese(r.at_risk.map((a) => a.item_id)).catch(showError),
    });
    parts.push(
      h("h2", { text: "Most likely forgotten by then" }),
      h(
        "ol",
        { id: "at-risk" },
        r.at_risk.map((a) =>
          h("li", { dataset: { itemId: a.item_id } }, `${percent(a.recall, 1)} · ${a.topic} · `, a.label),
        ),
      ),
      start,
    );
  } else {
    parts.push(h("p", { id: "no-risk", text: "Every item is above your desired retention on that day." }));
  }
  return parts;
}

async function studyThese(ids) {
  hideError();
  const session = await api.post("/sessions", { item_ids: ids, size: ids.length });
  location.hash = `#/study/${session.id}`;
}

// One bar per topic, its height the predicted recall (0–100 %), and a dashed line at the
// desired retention; the table above carries the same figures for screen readers.
function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function recallChart(topics, target) {
  const W = 360;
  const H = 170;
  const pad = { top: 14, right: 12, bottom: 34, left: 36 };
  const innerW = W - pad.left - pad.right;
  const innerH = H - pad.top - pad.bottom;
  const y = (v) => pad.top + innerH * (1 - v);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", id: "readiness-chart" });
  const summary = topics.map((t) => `${t.topic} ${percent(t.recall, 1)}`).join(", ");
  root.append(svg("title", {}, `Predicted recall per topic: ${summary}`));
  for (const v of [0, 0.5, 1]) {
    root.append(
      svg("line", { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: pad.left - 4, y: y(v) + 3, class: "axis", "text-anchor": "end" }, percent(v)),
    );
  }
  const slot = innerW / Math.max(1, topics.length);
  const barW = Math.max(3, slot * 0.7);
  topics.forEach((t, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    const bar = svg("rect", {
      x,
      y: y(t.recall),
      width: barW,
      height: innerH * t.recall,
      class: t.recall < target ? "bar low" : "bar",
      rx: 1.5,
    });
    bar.append(svg("title", {}, `${t.topic}: ${percent(t.recall, 1)} of ${t.items} items`));
    root.append(bar);
    if (topics.length <= 8) {
      const label = t.topic.length > 12 ? `${t.topic.slice(0, 11)}…` : t.topic;
      root.append(svg("text", { x: x + barW / 2, y: H - pad.bottom + 13, class: "axis", "text-anchor": "middle" }, label));
    }
  });
  root.append(
    svg("line", {
      x1: pad.left,
      x2: W - pad.right,
      y1: y(target),
      y2: y(target),
      class: "target",
      "stroke-dasharray": "4 3",
    }),
  );
  return root;
}
