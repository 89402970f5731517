// Settings: desired retention and new items a day, and FSRS parameters fitted to your own
// review log (started here, polled until done) or reset to the defaults.

import { api } from "../api.js";
import { dateTime, h, hideError, setStatus, showError } from "../dom.js";

const POLL_MS = 2000;

export async function render(root) {
  let settings = await api.get("/users/me/settings");
  let timer = null;
  root.append(h("h1", { text: "Settings" }));

  const retention = h("input", {
    type: "number",
    id: "desired-retention",
    min: 0.7,
    max: 0.97,
    step: 0.01,
    value: settings.desired_retention,
  });
  const perDay = h("input", {
    type: "number",
    id: "new-per-day",
    min: 0,
    max: 1000,
    value: settings.new_per_day,
  });
  const saved = h("p", { class: "muted", id: "settings-saved", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "panel", id: "settings-form" },
    h("h2", { text: "Scheduling" }),
    h(
      "div",
      { class: "grid2" },
      h(
        "div",
        { class: "field" },
        h("label", { for: "desired-retention", text: "Desired retention (0.70–0.97)" }),
        retention,
        h("p", {
          class: "hint",
          text: "The chance of recalling an item when it comes due. Lower: longer intervals, fewer reviews.",
        }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "new-per-day", text: "New items a day" }),
        perDay,
      ),
    ),
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Save" })),
    saved,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    try {
      settings = await api.patch("/users/me/settings", {
        desired_retention: Number(retention.value),
        new_per_day: Number(perDay.value),
      });
      saved.textContent = `Saved: retention ${settings.desired_retention}, ${settings.new_per_day} new a day.`;
    } catch (err) {
      showError(err);
    }
  });

  const fitPanel = h("section", { class: "panel", id: "fsrs-panel" });
  const drawFit = () => {
    const fit = settings.fit;
    const rows = [
      h("h2", { text: "FSRS parameters" }),
      h("p", {
        id: "fsrs-source",
        text:
          settings.parameters_source === "fitted"
            ? "Your schedules use parameters fitted to your own reviews."
            : "Your schedules use FSRS's default parameters.",
      }),
      h("p", { id: "fsrs-status", text: fitText(fit) }),
    ];
    const start = h("button", {
      type: "button",
      class: "primary",
      id: "fsrs-optimize",
      text: "Fit to my reviews",
      disabled: fit.status === "running",
      onclick: optimize,
    });
    const reset = h("button", {
      type: "button",
      id: "fsrs-reset",
      text: "Back to the defaults",
      disabled: settings.parameters_source === "default",
      onclick: resetParameters,
    });
    rows.push(h("div", { class: "row" }, start, reset));
    rows.push(
      h(
        "details",
        {},
        h("summary", { text: "The 21 parameters in use" }),
        h("p", { class: "mono", text: settings.parameters.map((p) => p.toFixed(4)).join(", ") }),
      ),
    );
    fitPanel.replaceChildren(...rows);
  };

  async function poll() {
    const fit = await api.get("/users/me/fsrs/optimize");
    settings = await api.get("/users/me/settings");
    drawFit();
    if (fit.status === "running" && root.isConnected) timer = setTimeout(pollSafely, POLL_MS);
  }
  const pollSafely = () => poll().catch(showError);

  async function optimize() {
    hideError();
    try {
      await api.post("/users/me/fsrs/optimize");
      setStatus("Fitting FSRS to your reviews…");
      await poll();
    } catch (err) {
      showError(err);
    }
  }

  async function resetParameters() {
    hideError();
    try {
      settings = await api.post("/users/me/fsrs/reset");
      drawFit();
    } catch (err) {
      showError(err);
    }
  }

  drawFit();
  if (settings.fit.status === "running") timer = setTimeout(pollSafely, POLL_MS);
  root.append(form, fitPanel);
  return () => clearTimeout(timer);
}

function fitText(fit) {
  switch (fit.status) {
    case "running":
      return `Fitting since ${dateTime(fit.started_at)} on ${fit.reviews_used} reviews…`;
    case "done":
      return (
        `Last fit (${dateTime(fit.finished_at)}): ${fit.reviews_used} reviews, log loss ` +
        `${fit.loss_before.toFixed(4)} → ${fit.loss_after.toFixed(4)} in ${fit.seconds} s; ` +
        (fit.applied ? "applied." : "not applied (no better than the parameters in use).")
      );
    case "failed":
      return `The last fit failed: ${fit.error}`;
    case "reset":
      return "Reset to the defaults.";
    default:
      return "No fit yet: it needs 512 reviews made a day or more apart, over 14 days.";
  }
}
