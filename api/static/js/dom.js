// DOM helpers. Every piece of text from the API goes in through textContent (never innerHTML),
// so a card or a prompt can never inject markup into the page.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    // Styles through the CSSOM: the Content-Security-Policy refuses style attributes.
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// The notes use a small part of markdown: `code`, **bold**, numbered lists and line-wrapped
// paragraphs. This renders exactly that, building nodes rather than parsing HTML.
export function markdown(text) {
  const root = h("div", { class: "md" });
  let paragraph = null;
  let list = null;
  let item = null;
  for (const line of String(text).split("\n")) {
    const numbered = /^\s*\d+\.\s+(.*)$/.exec(line);
    if (!line.trim()) {
      paragraph = list = item = null;
    } else if (numbered) {
      paragraph = null;
      if (!list) root.append((list = h("ol")));
      list.append((item = h("li")));
      inline(item, numbered[1]);
    } else if (item) {
      // A lazy continuation line belongs to the list item above it, as in markdown.
      inline(item, ` ${line.trim()}`);
    } else {
      if (!paragraph) root.append((paragraph = h("p")));
      else paragraph.append(" ");
      inline(paragraph, line.trim());
    }
  }
  return root;
}

function inline(el, text) {
  // Split on code spans first so that ** inside code stays literal.
  const parts = text.split(/(`[^`]*`)/);
  for (const part of parts) {
    if (part.startsWith("`") && part.endsWith("`") && part.length >= 2) {
      el.append(h("code", { text: part.slice(1, -1) }));
      continue;
    }
    const bolds = part.split(/(\*\*[^*]+\*\*)/);
    for (const b of bolds) {
      if (b.startsWith("**") && b.endsWith("**") && b.length > 4) {
        el.append(h("strong", { text: b.slice(2, -2) }));
      } else if (b) {
        el.append(b);
      }
    }
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// --- the error banner ------------------------------------------------------------------------

export function showError(error) {
  const banner = document.getElementById("error-banner");
  const text = document.getElementById("error-text");
  let message = error instanceof Error ? error.message : String(error);
  if (error && error.status === 401) {
    message += " Sign in again on the Account page.";
  }
  text.textContent = message;
  banner.hidden = false;
}

export function hideError() {
  document.getElementById("error-banner").hidden = true;
}

export function setStatus(message) {
  // A polite live region, so screen readers hear "Loading…" and results without focus moves.
  document.getElementById("status").textContent = message;
}

// --- formatting ------------------------------------------------------------------------------

export function percent(x, digits = 0) {
  return x === null || x === undefined ? "—" : `${(100 * x).toFixed(digits)}%`;
}

export function formatScore(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}
