// Progress: the counts from GET /progress, the 7-day forecast, and daily reviews and retention
// computed here from the review log (GET /progress/reviews). Days are UTC days, as in the API.

import { api } from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { h, percent, showError } from "../dom.js";

const HISTORY_DAYS = 30;
const DAY_MS = 86400000;

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

function shortDay(iso) {
  // "2026-11-23" → "23 Nov", named in UTC so the label matches the API's day.
  const d = new Date(`${iso}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
}

function weekday(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { weekday: "short", timeZone: "UTC" });
}

// Daily counts and retention from the log. Retention follows the API's definition: the share
// of reviews of items that were in the review state which were not rated "again".
export function dailyStats(reviews, today = new Date()) {
  const days = [];
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  for (let i = HISTORY_DAYS - 1; i >= 0; i--) {
    days.push({ date: utcDay(new Date(start - i * DAY_MS)), reviews: 0, mature: 0, kept: 0 });
  }
  const byDate = new Map(days.map((d) => [d.date, d]));
  for (const r of reviews) {
    const day = byDate.get(String(r.reviewed_at).slice(0, 10));
    if (!day) continue;
    day.reviews += 1;
    if (r.state_before === "review") {
      day.mature += 1;
      if (r.rating_name !== "again") day.kept += 1;
    }
  }
  return days.map((d) => ({ ...d, retention: d.mature ? d.kept / d.mature : null }));
}

export async function render(root) {
  const [progress, log, topics] = await Promise.all([
    api.get("/progress"),
    api.get("/progress/reviews"),
    api.get("/topics"),
  ]);
  const titles = new Map(topics.map((t) => [t.id, t.title]));
  const days = dailyStats(log.data);
  const inWindow = days.reduce((n, d) => n + d.reviews, 0);

  root.append(
    h("h1", { text: "Progress" }),
    h(
      "dl",
      { class: "stats", id: "stats" },
      stat("Due now", progress.due_now, "due-now"),
      stat("Reviewed today", progress.reviewed_today, "reviewed-today"),
      stat("Total reviews", progress.total_reviews, "total-reviews"),
      stat(
        "Retention",
        progress.retention === null ? "—" : percent(progress.retention, 1),
        "retention",
        progress.retention_reviews
          ? `of ${progress.retention_reviews} mature reviews`
          : "no mature reviews yet",
      ),
      stat("Streak", `${progress.streak_days} d`, "streak"),
    ),
  );

  const forecast = progress.forecast.map((f, i) => ({
    label: i === 0 ? "Today" : weekday(f.date),
    value: f.due,
    title: `${f.date}: ${f.due} due`,
  }));
  const forecastTotal = progress.forecast.reduce((n, f) => n + f.due, 0);
  root.append(
    section(
      "Due in the next 7 days",
      barChart(forecast, {
        id: "forecast-chart",
        summary: `Forecast: ${progress.forecast.map((f) => `${f.date} ${f.due}`).join(", ")}`,
      }),
      `${forecastTotal} items fall due this week (overdue ones count on today).`,
    ),
  );

  // Label every 7th day, counted back from today, so the axis never crowds at 360 px.
  const label = (i) => (HISTORY_DAYS - 1 - i) % 7 === 0;
  root.append(
    section(
      `Reviews per day (last ${HISTORY_DAYS} days)`,
      barChart(
        days.map((d, i) => ({
          label: shortDay(d.date),
          value: d.reviews,
          title: `${d.date}: ${d.reviews} reviews`,
          showLabel: label(i),
        })),
        { id: "reviews-chart", summary: `${inWindow} reviews in the last ${HISTORY_DAYS} days` },
      ),
      `${inWindow} reviews in the last ${HISTORY_DAYS} days; ${log.count} in the whole log.`,
    ),
  );
  const matureDays = days.filter((d) => d.retention !== null);
  root.append(
    section(
      "Retention per day",
      lineChart(
        days.map((d, i) => ({
          label: shortDay(d.date),
          value: d.retention,
          title:
            d.retention === null
              ? `${d.date}: no mature reviews`
              : `${d.date}: ${percent(d.retention, 1)} of ${d.mature} mature reviews`,
          showLabel: label(i),
        })),
        {
          id: "retention-chart",
          summary: `Retention on ${matureDays.length} days with mature reviews`,
        },
      ),
      matureDays.length
        ? "Share of reviews of items in the review stage not rated Again, per day."
        : "No reviews of items in the review stage yet: retention appears once cards graduate.",
    ),
  );

  root.append(topicBars(progress.topics, titles));
  root.append(
    h(
      "div",
      { class: "row" },
      h("button", {
        type: "button",
        text: "Download the review log (CSV)",
        onclick: () => api.download("/progress/reviews?format=csv").catch(showError),
      }),
    ),
  );
}

function stat(name, value, id, note) {
  return h(
    "div",
    { class: "stat" },
    h("dt", { text: name }),
    h("dd", { id, text: String(value) }),
    note ? h("dd", { class: "note", text: note }) : null,
  );
}

function section(title, chart, caption) {
  return h(
    "section",
    { class: "panel" },
    h("h2", { text: title }),
    chart,
    h("p", { class: "muted", text: caption }),
  );
}

// One stacked bar per topic: new, learning and review, as shares of the topic's cards.
function topicBars(topics, titles) {
  const studied = (t) => t.learning + t.review;
  const sorted = [...topics].sort(
    (a, b) => studied(b) - studied(a) || a.topic.localeCompare(b.topic),
  );
  return h(
    "section",
    { class: "panel", id: "topics" },
    h("h2", { text: "Topics" }),
    h(
      "p",
      { class: "legend" },
      h("span", { class: "key new" }),
      " new ",
      h("span", { class: "key learning" }),
      " learning ",
      h("span", { class: "key review" }),
      " review",
    ),
    h(
      "ul",
      { class: "topic-bars" },
      sorted.map((t) => {
        const total = t.new + t.learning + t.review || 1;
        const seg = (kind) =>
          h("span", { class: `seg ${kind}`, style: { width: `${(100 * t[kind]) / total}%` } });
        return h(
          "li",
          { dataset: { topic: t.topic } },
          h(
            "div",
            { class: "topic-line" },
            h("span", { class: "topic-name", text: titles.get(t.topic) || t.topic }),
            h("span", {
              class: "muted",
              text: `${t.new} new · ${t.learning} learning · ${t.review} review`,
            }),
          ),
          h(
            "div",
            { class: "stack", "aria-hidden": "true" },
            seg("new"),
            seg("learning"),
            seg("review"),
          ),
        );
      }),
    ),
  );
}
