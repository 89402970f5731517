// Sign in with a token, or register a new user (the token is shown once, so say so).

import { api, getName, getToken, saveUser, signOut } from "../api.js";
import { h, hideError, showError } from "../dom.js";

export async function render(root) {
  root.append(h("h1", { text: "Account" }));
  if (getToken()) {
    root.append(
      h(
        "section",
        { class: "panel" },
        h("p", {}, "Signed in as ", h("strong", { text: getName() || "?" }), "."),
        h(
          "div",
          { class: "row" },
          h("a", { class: "button primary", href: "#/study", text: "Study" }),
          h("button", {
            type: "button",
            text: "Sign out",
            onclick: () => {
              signOut();
              location.hash = "#/account";
              location.reload();
            },
          }),
        ),
      ),
    );
  }
  root.append(registerForm(), signInForm());
}

function registerForm() {
  const name = h("input", {
    id: "reg-name",
    name: "name",
    required: true,
    maxlength: 100,
    autocomplete: "nickname",
  });
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "panel", id: "register-form" },
    h("h2", { text: "Register" }),
    h("label", { for: "reg-name", text: "Your name" }),
    name,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Register" })),
    result,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    try {
      const user = await api.post("/users", { name: name.value }, { token: null });
      saveUser(user.token, user.name);
      const tokenBox = h("input", {
        id: "new-token",
        readonly: true,
        value: user.token,
        class: "mono",
      });
      result.replaceChildren(
        h(
          "div",
          { class: "notice" },
          h("p", {}, "Welcome, ", h("strong", { text: user.name }), ". Your token is below."),
          h("label", { for: "new-token", text: "Token (shown this once: keep it to sign in)" }),
          tokenBox,
          h(
            "div",
            { class: "row" },
            h("button", {
              type: "button",
              text: "Copy token",
              onclick: () => navigator.clipboard?.writeText(user.token).catch(showError),
            }),
            h("a", { class: "button primary", href: "#/study", text: "Start studying" }),
          ),
        ),
      );
      document.getElementById("nav-account").textContent = user.name;
      tokenBox.select();
    } catch (err) {
      showError(err);
    }
  });
  return form;
}

function signInForm() {
  const token = h("input", {
    id: "signin-token",
    name: "token",
    required: true,
    autocomplete: "off",
    class: "mono",
  });
  const form = h(
    "form",
    { class: "panel", id: "signin-form" },
    h("h2", { text: "Sign in with a token" }),
    h("label", { for: "signin-token", text: "Bearer token" }),
    token,
    h("div", { class: "row" }, h("button", { type: "submit", text: "Sign in" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    const value = token.value.trim();
    try {
      // Check the token before keeping it, so a typo is reported here and not on every page.
      const me = await api.get("/users/me", { token: value });
      saveUser(value, me.name);
      location.hash = "#/study";
    } catch (err) {
      showError(err);
    }
  });
  return form;
}
