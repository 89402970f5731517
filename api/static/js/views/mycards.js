// Cards: find cards by tag or text, see the ones you set aside (suspended, leeches, buried)
// and bring them back, and edit the cards you imported (same id, same history).

import { api } from "../api.js";
import { h, hideError, markdown, showError } from "../dom.js";

const PAGE = 100;

export async function render(root) {
  root.append(h("h1", { text: "Cards" }));
  const tag = h("input", { type: "text", id: "tag-filter", maxlength: 64, placeholder: "a tag" });
  const text = h("input", { type: "text", id: "text-filter", maxlength: 200 });
  const flag = h(
    "select",
    { id: "flag-filter" },
    h("option", { value: "", text: "any" }),
    h("option", { value: "suspended", text: "suspended" }),
    h("option", { value: "leech", text: "leeches" }),
    h("option", { value: "buried", text: "buried" }),
  );
  const own = h("input", { type: "checkbox", id: "own-only" });
  const list = h("div", { id: "card-list" });
  const form = h(
    "form",
    { class: "panel", id: "card-filter" },
    h(
      "div",
      { class: "grid2" },
      h("div", { class: "field" }, h("label", { for: "tag-filter", text: "Tag" }), tag),
      h("div", { class: "field" }, h("label", { for: "text-filter", text: "Text" }), text),
      h("div", { class: "field" }, h("label", { for: "flag-filter", text: "Set aside" }), flag),
    ),
    h("label", { class: "check", for: "own-only" }, own, " Only the cards I imported"),
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Show" })),
  );
  const load = async () => {
    hideError();
    const params = new URLSearchParams({ limit: PAGE });
    if (tag.value.trim()) params.set("tag", tag.value.trim());
    if (text.value.trim()) params.set("q", text.value.trim());
    if (flag.value) params.set("flag", flag.value);
    const page = await api.get(`/cards?${params}`);
    const cards = own.checked ? page.data.filter((c) => c.own) : page.data;
    list.replaceChildren(
      h("p", { class: "muted", text: `${cards.length} shown of ${page.count} matching.` }),
      ...cards.map((c) => cardRow(c, load)),
    );
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load().catch(showError);
  });
  root.append(form, list);
  await load();
}

function flagText(flags) {
  if (!flags) return "";
  const parts = [];
  if (flags.leech) parts.push("leech");
  if (flags.suspended) parts.push("suspended");
  if (flags.buried_until && new Date(flags.buried_until) > new Date()) parts.push("buried");
  return parts.join(", ");
}

function cardRow(card, reload) {
  const flags = card.flags || {};
  const act = (verb) => async () => {
    try {
      await api.post(`/cards/${encodeURIComponent(card.id)}/${verb}`);
      await reload();
    } catch (err) {
      showError(err);
    }
  };
  const setAside = flags.suspended || (flags.buried_until && new Date(flags.buried_until) > new Date());
  const buttons = [
    setAside
      ? h("button", { type: "button", class: "unsuspend", text: "Unsuspend", onclick: act("unsuspend") })
      : h("button", { type: "button", class: "suspend", text: "Suspend", onclick: act("suspend") }),
  ];
  const row = h(
    "article",
    { class: "panel card-row", dataset: { cardId: card.id } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: "pill", text: card.topic }),
      " ",
      h("span", { class: "muted", text: card.tags.join(", ") }),
      " ",
      h("strong", { class: "flags", text: flagText(card.flags) }),
    ),
    h("div", { class: "front" }, markdown(card.front)),
    h("details", {}, h("summary", { text: "Answer" }), markdown(card.back)),
  );
  if (card.own) {
    buttons.push(
      h("button", { type: "button", class: "edit", text: "Edit", onclick: () => edit(row, card, reload) }),
    );
  }
  row.append(h("div", { class: "row" }, buttons));
  return row;
}

function edit(row, card, reload) {
  const id = card.id.replace(/[^a-z0-9]/gi, "-");
  const front = h("textarea", { id: `front-${id}`, maxlength: 2000, rows: 3 });
  front.value = card.front;
  const back = h("textarea", { id: `back-${id}`, maxlength: 20000, rows: 5 });
  back.value = card.back;
  const tags = h("input", { type: "text", id: `tags-${id}`, maxlength: 1400 });
  tags.value = card.tags.join(" ");
  const form = h(
    "form",
    { class: "edit-form" },
    h("div", { class: "field" }, h("label", { for: `front-${id}`, text: "Question" }), front),
    h("div", { class: "field" }, h("label", { for: `back-${id}`, text: "Answer" }), back),
    h(
      "div",
      { class: "field" },
      h("label", { for: `tags-${id}`, text: "Tags (space-separated; the note's come back on save)" }),
      tags,
    ),
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: "Save" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideError();
    try {
      await api.patch(`/cards/${encodeURIComponent(card.id)}`, {
        front: front.value,
        back: back.value,
        tags: tags.value.split(/\s+/).filter(Boolean),
      });
      await reload();
    } catch (err) {
      showError(err);
    }
  });
  row.append(form);
  front.focus();
}
