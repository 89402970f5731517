// The page's entry point: a hash router over the views. Hash routes keep it a set of static
// files (the server serves only index.html at /) and let reload and back work.

import { getName, getToken } from "./api.js";
import { h, hideError, setStatus, showError } from "./dom.js";
import * as account from "./views/account.js";
import * as architectures from "./views/architectures.js";
import * as courses from "./views/courses.js";
import * as exam from "./views/exam.js";
import * as lti from "./views/lti.js";
import * as progress from "./views/progress.js";
import * as study from "./views/study.js";
import * as mycards from "./views/mycards.js";
import * as mistakes from "./views/mistakes.js";
import * as readiness from "./views/readiness.js";
import * as settings from "./views/settings.js";

const routes = [
  { pattern: /^\/account$/, view: account.render, nav: "account", open: true },
  { pattern: /^\/study$/, view: study.renderSetup, nav: "study" },
  { pattern: /^\/study\/(\d+)$/, view: study.renderSession, nav: "study" },
  { pattern: /^\/progress$/, view: progress.render, nav: "progress" },
  { pattern: /^\/readiness$/, view: readiness.render, nav: "readiness" },
  { pattern: /^\/mistakes$/, view: mistakes.render, nav: "mistakes" },
  { pattern: /^\/cards$/, view: mycards.render, nav: "cards" },
  { pattern: /^\/settings$/, view: settings.render, nav: "settings" },
  { pattern: /^\/exam$/, view: exam.renderBuilder, nav: "exam" },
  { pattern: /^\/exam\/(\d+)$/, view: exam.renderExam, nav: "exam" },
  { pattern: /^\/courses$/, view: courses.renderList, nav: "courses" },
  { pattern: /^\/courses\/(\d+)$/, view: courses.renderCourse, nav: "courses" },
  { pattern: /^\/assessments\/(\d+)\/stats$/, view: courses.renderStats, nav: "courses" },
  // A student's copy of an assessment: taken in the exam view, under the Courses tab.
  {
    pattern: /^\/assessments\/\d+\/copy\/(\d+)$/,
    view: exam.renderExam,
    nav: "courses",
  },
  { pattern: /^\/assessments\/(\d+)\/preview$/, view: courses.renderPreview, nav: "courses" },
  {
    pattern: /^\/assessments\/(\d+)\/attempts\/(\d+)$/,
    view: courses.renderReview,
    nav: "courses",
  },
  { pattern: /^\/lti\/assessments\/(\d+)$/, view: lti.renderAssessment, nav: "courses" },
  { pattern: /^\/lti\/deep-link\/(\d+)\/(\d+)$/, view: lti.renderDeepLink, nav: "courses" },
  {
    pattern: /^\/courses\/(\d+)\/architectures\/([\w.-]+)$/,
    view: architectures.renderCourseNetwork,
    nav: "courses",
  },
  // Public, like the API it reads: no token needed.
  {
    pattern: /^\/architectures(?:\/(\w+)(?:\/vs\/(\w+))?)?$/,
    view: architectures.render,
    nav: "architectures",
    open: true,
  },
];

let cleanup = null;

async function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  if (path === "/") {
    location.replace(getToken() ? "#/study" : "#/account");
    return;
  }
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (cleanup) cleanup();
  cleanup = null;
  hideError();
  updateNav(match ? match.r.nav : null);
  const main = document.getElementById("view");
  // A fresh container per navigation: a slow view that finishes after the user has moved on
  // writes into a detached node instead of over the new view.
  const container = h("div", { class: "view" });
  main.replaceChildren(container);
  if (!match) {
    container.append(h("h1", { text: "Not found" }), h("p", {}, "There is no page ", path, "."));
    return;
  }
  if (!match.r.open && !getToken()) {
    location.replace("#/account");
    return;
  }
  setStatus("Loading…");
  try {
    const result = await match.r.view(container, ...match.m.slice(1));
    if (typeof result === "function") {
      if (container.isConnected) cleanup = result;
      else result();
    }
    setStatus("");
  } catch (err) {
    setStatus("");
    if (!container.isConnected) return;
    showError(err);
    // Say what failed in the view too, with a way out, rather than leave it half drawn.
    container.replaceChildren(
      h("h1", { text: "This page could not be loaded" }),
      h("p", { text: err instanceof Error ? err.message : String(err) }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", text: "Try again", onclick: route }),
        h("a", { class: "button", href: "#/study", text: "Back to study" }),
      ),
    );
  }
}

function updateNav(active) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const name = getName();
  document.getElementById("nav-account").textContent = getToken() && name ? name : "Account";
}

// Anything that escapes a view still ends up in words on the page, never a blank screen.
window.addEventListener("error", (e) => showError(e.error || e.message));
window.addEventListener("unhandledrejection", (e) => showError(e.reason));
window.addEventListener("hashchange", route);
document.getElementById("error-close").addEventListener("click", hideError);
// Arriving from an LMS: sign in with the launch's one-time code first (views/lti.js).
lti.startFromLaunch().then(route, (err) => {
  showError(err);
  route();
});
