// Arriving from an LMS (LTI 1.3). The launch sends the browser here with a one-time code in
// the address; the page trades it for a bearer token (POST /lti/session), so it works inside
// the LMS's frame without third-party cookies. Instructors placing an activity (deep
// linking) choose an assessment; students land on the one the link names.

import { api, getToken, saveUser } from "../api.js";
import { h } from "../dom.js";

const LAUNCH_KEY = "flopcards.lti";

// Called once before the first route: signs in from the launch's code, if there is one,
// and says where to go.
export async function startFromLaunch() {
  const params = new URLSearchParams(location.search);
  const code = params.get("lti_code");
  if (!code) return;
  // The code is single use: take it out of the address (history, reloads) at once.
  history.replaceState(null, "", location.pathname + location.hash);
  const s = await api.post("/lti/session", { code }, { token: null });
  saveUser(s.token, s.name);
  sessionStorage.setItem(LAUNCH_KEY, JSON.stringify(s));
  let target = `#/courses/${s.course_id}`;
  if (s.message_type === "LtiDeepLinkingRequest") {
    target = `#/lti/deep-link/${s.launch_id}/${s.course_id}`;
  } else if (s.assessment_id && s.role === "student") {
    target = `#/lti/assessments/${s.assessment_id}`;
  }
  // No hashchange: the caller routes once, to this.
  history.replaceState(null, "", location.pathname + target);
}

// The assessment a student's link names: its window, their standing, start or continue.
export async function renderAssessment(root, id) {
  const a = await api.get(`/assessments/${id}`);
  root.append(h("h1", { text: a.title }));
  const facts = [`${a.count} questions`];
  if (a.time_limit_min) facts.push(`${a.time_limit_min} minutes once started`);
  if (a.closes_at) facts.push(`closes ${new Date(a.closes_at).toLocaleString()}`);
  root.append(h("p", { class: "muted", text: facts.join(" · ") }));
  if (a.exam_id) {
    const label = a.status === "submitted" ? "See your result" : "Continue";
    root.append(h("a", { class: "button", href: `#/exam/${a.exam_id}`, text: label }));
    return;
  }
  const start = h("button", {
    type: "button",
    text: "Start",
    onclick: async () => {
      start.disabled = true;
      try {
        const exam = await api.post(`/assessments/${id}/start`, {});
        location.hash = `#/exam/${exam.id}`;
      } finally {
        start.disabled = false;
      }
    },
  });
  root.append(start);
}

// Deep linking: the instructor places one of the course's assessments in the LMS. The
// choice goes to the server as an ordinary form post (this page's policy lets forms go to
// this origin only); the server answers the signed response, which returns to the LMS.
export async function renderDeepLink(root, launchId, courseId) {
  const assessments = await api.get(`/courses/${courseId}/assessments`);
  root.append(
    h("h1", { text: "Add an assessment to your course" }),
    h("p", {
      text: "Choose the assessment this LMS activity opens. Students' final scores go back to the LMS gradebook.",
    }),
  );
  if (!assessments.length) {
    root.append(h("p", { text: "This course has no assessment yet." }));
  }
  root.append(
    h(
      "ul",
      { id: "lti-choices" },
      assessments.map((a) =>
        h(
          "li",
          {},
          h("span", { text: `${a.title} (${a.count} questions) ` }),
          h("button", { type: "button", text: "Place", onclick: () => place(launchId, a.id) }),
        ),
      ),
    ),
    h(
      "p",
      {},
      h("a", { href: `#/courses/${courseId}`, text: "Set a new assessment" }),
      h("span", { class: "muted", text: " in the course, then come back here with Back." }),
    ),
  );
}

function place(launchId, assessmentId) {
  const form = h(
    "form",
    { method: "post", action: "/lti/deep-link/form" },
    h("input", { type: "hidden", name: "access_token", value: getToken() }),
    h("input", { type: "hidden", name: "launch_id", value: String(launchId) }),
    h("input", { type: "hidden", name: "assessment_id", value: String(assessmentId) }),
  );
  document.body.append(form);
  form.submit();
}
