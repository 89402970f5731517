// Architectures: where a network's MACs and parameters go, per layer, per kind of layer and per
// stage, for one network or two side by side. Every figure is the API's (GET
// /architectures/{name}/profile and /architectures/compare); this file only lays them out.

import { api } from "../api.js";
import { layerChart } from "../charts.js";
import { h } from "../dom.js";

const DEFAULT = "mobilenet_v2";
const KEYS = ["a", "b"];

export async function render(root, first, second) {
  if (!first) {
    location.replace(`#/architectures/${DEFAULT}`);
    return;
  }
  const names = second && second !== first ? [first, second] : [first];
  const archs = await get("/architectures");
  // One request at a time: the server profiles one uncached network at once. The comparison
  // profiles both networks in one job, after which their own profiles are cached.
  const pair = names.join(",");
  const comparison = names.length > 1 ? await get(`/architectures/compare?names=${pair}`) : null;
  const profiles = [];
  for (const n of names) {
    profiles.push(await get(`/architectures/${encodeURIComponent(n)}/profile`));
  }
  const byName = new Map(archs.map((a) => [a.name, a]));
  root.append(h("h1", { text: "Architectures" }), picker(archs, names));
  if (comparison) root.append(sideBySide(comparison));
  profiles.forEach((p, i) => root.append(network(p, byName.get(names[i]), KEYS[i])));
  root.append(conventions(profiles[0].conventions), counters(names[0]), notSpeed());
}

// A course's own network (members only): the same views, from its course's profile.
export async function renderCourseNetwork(root, courseId, name) {
  const path = `/courses/${courseId}/architectures/${encodeURIComponent(name)}/profile`;
  const profile = await get(path);
  const arch = { name, title: name, variant: "a network of your course, from its layer spec" };
  root.append(
    h("h1", { text: "Architectures" }),
    h("p", {}, h("a", { href: `#/courses/${courseId}`, text: "Back to the course" })),
    network(profile, arch, "a"),
    conventions(profile.conventions),
  );
}

// A 429 (the server busy with another uncached profile, or this address over its rate) names
// the seconds to wait; wait them and ask again, a few times.
async function get(path, tries = 5) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.get(path);
    } catch (err) {
      if (err.status !== 429 || attempt >= tries) throw err;
      const seconds = Number((/retry after (\d+) s/.exec(err.message) || [])[1] || 2);
      await new Promise((resolve) => setTimeout(resolve, 1000 * seconds));
    }
  }
}

// --- choosing ---------------------------------------------------------------------------------

function picker(archs, [first, second]) {
  const options = (selected) =>
    archs.map((a) => h("option", { value: a.name, text: a.title, selected: a.name === selected }));
  const a = h("select", { id: "arch-a", name: "a" }, options(first));
  const b = h(
    "select",
    { id: "arch-b", name: "b" },
    h("option", { value: "", text: "— none —", selected: !second }),
    options(second),
  );
  const go = (event) => {
    event.preventDefault();
    location.hash =
      b.value && b.value !== a.value
        ? `#/architectures/${a.value}/vs/${b.value}`
        : `#/architectures/${a.value}`;
  };
  return h(
    "form",
    { id: "arch-form", class: "panel grid2", onsubmit: go },
    h("div", {}, h("label", { for: "arch-a", text: "Network" }), a),
    h("div", {}, h("label", { for: "arch-b", text: "Compare with" }), b),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Show" })),
  );
}

// --- one network -----------------------------------------------------------------------------

function network(profile, arch, key) {
  const layers = profile.layers;
  const chart = layerChart(
    layers.map((l) => ({
      macs: l.percent_macs,
      params: l.percent_params,
      stage: l.stage,
      title: `${l.name} (${l.kind}): ${int(l.macs)} MACs, ${l.percent_macs}%; ${int(l.params)} parameters, ${l.percent_params}%`,
    })),
    {
      id: `layers-chart-${key}`,
      summary: `${arch.title}: MACs and parameters of each of its ${layers.length} layers`,
      onPick: (i) => showRow(key, i),
    },
  );
  return h(
    "section",
    { class: "panel network", id: `net-${key}`, dataset: { name: arch.name } },
    h("h2", { text: arch.title }),
    h("p", { class: "muted", text: arch.variant }),
    h(
      "p",
      { class: "hint" },
      `Input ${profile.input_shape.join("×")}, ${profile.dtype}, batch ${profile.batch}.`,
      arch.paper
        ? [
            " Paper: ",
            h("a", { href: arch.paper.url, text: `${arch.paper.title} (${arch.paper.year})` }),
          ]
        : null,
    ),
    totals(profile.totals, key),
    h("h3", { text: "Per layer" }),
    h("p", {
      class: "hint",
      text: "Each column is one layer, in the order they run: up, its share of the MACs; down, its share of the parameters; shaded bands are stages. Select a column to see its row.",
    }),
    h("div", { class: "scroll" }, chart),
    h("h3", { text: "By kind of layer" }),
    shareTable(profile.by_type, `by-type-${key}`, "kind"),
    h("h3", { text: "By stage" }),
    shareTable(profile.by_stage, `by-stage-${key}`, "stage"),
    layerTable(layers, key),
  );
}

const TOTALS = [
  ["params", "Parameters", (v) => `${mega(v)} M`],
  ["macs", "MACs", (v) => `${giga(v)} G`],
  ["flops", "FLOPs (2 × MACs)", (v) => `${giga(v)} G`],
  ["weight_bytes", "Weights", mib],
  ["peak_live_activation_bytes", "Peak live activations", mib],
  ["peak_activation_bytes", "Largest tensor", mib],
  ["activation_bytes", "Sum of layer outputs", mib],
];

function totals(values, key) {
  return h(
    "dl",
    { class: "stats totals", id: `totals-${key}` },
    TOTALS.map(([field, name, human]) =>
      h(
        "div",
        { class: "stat" },
        h("dt", { text: name }),
        h("dd", { class: "exact", dataset: { total: field }, text: int(values[field]) }),
        h("dd", { class: "note", text: human(values[field]) }),
      ),
    ),
  );
}

function shareTable(shares, id, what) {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "shares", id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [what, "MACs", "% of MACs", "parameters", "% of parameters", "layers"].map((t) =>
            h("th", { scope: "col", text: t }),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        shares.map((s) =>
          h(
            "tr",
            { dataset: { share: s.name } },
            h("th", { scope: "row", text: s.name }),
            h("td", { class: "num", text: int(s.macs) }),
            h("td", { class: "num" }, meter(s.percent_macs, "macs")),
            h("td", { class: "num", text: int(s.params) }),
            h("td", { class: "num" }, meter(s.percent_params, "params")),
            h("td", { class: "num", text: String(s.layers) }),
          ),
        ),
      ),
    ),
  );
}

function meter(percent, kind) {
  return h(
    "span",
    { class: "meter" },
    h("span", { class: "pct", text: `${percent.toFixed(2)}%` }),
    h(
      "span",
      { class: "track", "aria-hidden": "true" },
      h("span", { class: `fill ${kind}`, style: { width: `${percent}%` } }),
    ),
  );
}

function geometry(l) {
  if (!l.kernel) return "";
  const parts = [`k ${l.kernel.join("×")}`];
  if (l.stride && l.stride.some((v) => v !== 1)) parts.push(`s ${l.stride.join("×")}`);
  if (l.padding && l.padding.some((v) => v !== 0)) parts.push(`p ${l.padding.join("×")}`);
  if (l.dilation && l.dilation.some((v) => v !== 1)) parts.push(`d ${l.dilation.join("×")}`);
  if (l.groups && l.groups !== 1) parts.push(`g ${l.groups}`);
  return parts.join(" ");
}

function layerTable(layers, key) {
  const head = [
    "#",
    "layer",
    "kind",
    "geometry",
    "stage",
    "output",
    "MACs",
    "%",
    "parameters",
    "%",
    "output bytes",
  ];
  return h(
    "details",
    { class: "layers", id: `layers-details-${key}` },
    h("summary", { text: `All ${layers.length} layers` }),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "layer-table", id: `layers-${key}` },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            head.map((t) => h("th", { scope: "col", text: t })),
          ),
        ),
        h(
          "tbody",
          {},
          layers.map((l, i) =>
            h(
              "tr",
              { id: `row-${key}-${i}`, tabindex: "-1", dataset: { layer: l.name } },
              h("td", { class: "num", text: String(i) }),
              h("th", { scope: "row", class: "mono", text: l.name }),
              h("td", { text: l.aliases_input ? `${l.kind} (in place)` : l.kind }),
              h("td", { class: "mono", text: geometry(l) }),
              h("td", { text: l.stage }),
              h("td", { class: "mono", text: l.output_shape.join("×") }),
              h("td", { class: "num", text: int(l.macs) }),
              h("td", { class: "num", text: l.percent_macs.toFixed(2) }),
              h("td", { class: "num", text: int(l.params) }),
              h("td", { class: "num", text: l.percent_params.toFixed(2) }),
              h("td", { class: "num", text: int(l.activation_bytes) }),
            ),
          ),
        ),
      ),
    ),
  );
}

// A column of the chart opens the table, brings its row into view and marks it.
function showRow(key, i) {
  document.getElementById(`layers-details-${key}`).open = true;
  for (const old of document.querySelectorAll(`#layers-${key} tr.highlight`)) {
    old.classList.remove("highlight");
  }
  const row = document.getElementById(`row-${key}-${i}`);
  row.classList.add("highlight");
  row.scrollIntoView({ block: "center" });
  row.focus({ preventScroll: true });
}

// --- two networks ---------------------------------------------------------------------------

function sideBySide(comparison) {
  const archs = comparison.architectures;
  const kinds = [];
  for (const a of archs) for (const s of a.by_type) if (!kinds.includes(s.name)) kinds.push(s.name);
  const share = (a, kind) => a.by_type.find((s) => s.name === kind);
  const cell = (a, kind, field) => {
    const s = share(a, kind);
    return h("td", { class: "num", text: s ? `${s[field].toFixed(2)}%` : "—" });
  };
  const totalRow = (field, name) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", text: name }),
      archs.map((a) => h("td", { class: "num", colspan: "2", text: int(a.totals[field]) })),
    );
  return h(
    "section",
    { class: "panel", id: "side-by-side" },
    h("h2", { text: "Side by side" }),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "shares", id: "compare-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("td"),
            archs.map((a) => h("th", { scope: "col", colspan: "2", text: a.title })),
          ),
          h(
            "tr",
            {},
            h("td"),
            archs.map(() => [
              h("th", { scope: "col", text: "% MACs" }),
              h("th", { scope: "col", text: "% params" }),
            ]),
          ),
        ),
        h(
          "tbody",
          {},
          totalRow("params", "parameters"),
          totalRow("macs", "MACs"),
          totalRow("peak_live_activation_bytes", "peak live activation bytes"),
          kinds.map((kind) =>
            h(
              "tr",
              { dataset: { share: kind } },
              h("th", { scope: "row", text: kind }),
              archs.map((a) => [cell(a, kind, "percent_macs"), cell(a, kind, "percent_params")]),
            ),
          ),
        ),
      ),
    ),
    h("p", {
      class: "hint",
      text: `${comparison.dtype}, batch ${comparison.batch}, each network at its own default input.`,
    }),
  );
}

// --- what the numbers mean -------------------------------------------------------------------

function conventions(entries) {
  return h(
    "section",
    { class: "panel", id: "conventions" },
    h("h2", { text: "The conventions behind the numbers" }),
    h(
      "dl",
      { class: "conventions" },
      Object.entries(entries).map(([k, v]) => [
        h("dt", { class: "mono", text: k }),
        h("dd", { text: v }),
      ]),
    ),
  );
}

// What torchinfo, fvcore, thop, ptflops, calflops, DeepSpeed and FlopCounterMode would report
// for the network, each under its own convention (GET /architectures/{name}/conventions),
// loaded on demand: tracing a network costs a second of the server's time.
function counters(name) {
  const body = h("div", { id: "counters-body" });
  const button = h("button", { type: "button", id: "counters-load", text: "Show what each counter reports" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Counting…";
    try {
      const data = await get(`/architectures/${encodeURIComponent(name)}/conventions`);
      body.replaceChildren(counterTable(data));
      button.remove();
    } catch (err) {
      button.disabled = false;
      button.textContent = "Show what each counter reports";
      body.replaceChildren(h("p", { class: "error", text: err.message }));
    }
  });
  return h(
    "section",
    { class: "panel", id: "counters" },
    h("h2", { text: "Why the counters disagree" }),
    h("p", {
      class: "hint",
      text: "The same network is “4.09 G” or “4.13 G” or “8.18 G” depending on the tool. Each row is what that tool would report, worked out here under its documented convention, and how it differs from this service’s MACs (convolutions and linear layers, no bias) or FLOPs (2 × MACs).",
    }),
    button,
    body,
  );
}

function counterTable(data) {
  const rows = data.tools.map((t) =>
    h(
      "tr",
      { dataset: { tool: t.tool } },
      h("td", {}, h("span", { text: t.title }), h("div", { class: "muted mono", text: t.call })),
      h("td", { class: "num mono", text: int(t.figure) }),
      h("td", { text: t.reports }),
      h("td", {
        class: "num mono",
        text: `${t.difference >= 0 ? "+" : "−"}${int(Math.abs(t.difference))} (${Number((100 * t.relative).toPrecision(2))}%)`,
      }),
      h(
        "td",
        {},
        h("span", { text: t.explanation }),
        t.meta_figure !== t.figure
          ? h("div", { class: "muted", text: `On a meta-device model: ${int(t.meta_figure)}.` })
          : null,
      ),
    ),
  );
  return h(
    "div",
    {},
    h("p", {
      class: "hint",
      text: `Input ${data.input_shape.join("×")}, batch ${data.batch}: ${int(data.macs)} MACs, ${int(data.flops)} FLOPs by this service's convention. ${data.note}`,
    }),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "shares", id: "counters-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Tool", "Reports", "Its unit", "Against the service", "Why"].map((t) => h("th", { text: t })),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}

// ShuffleNet v2 (Ma, Zhang, Zheng and Sun, ECCV 2018), Tables 1–4: speed of small benchmark
// networks at equal FLOPs on a GTX 1080Ti (batches/s) and one thread of a Snapdragon 810
// (images/s); the "×1" columns.
const GUIDELINES = [
  {
    id: "g1",
    title: "G1. Equal input and output widths minimise memory access",
    text: "A 1×1 convolution with c1 inputs and c2 outputs on an h×w map costs B = hw·c1·c2 multiply-adds but reads and writes hw(c1 + c2) + c1·c2 elements, which for a fixed B is smallest when c1 = c2. Ten blocks of two 1×1 convolutions, same FLOPs:",
    head: ["c1 : c2", "GPU, batches/s", "ARM, images/s"],
    rows: [
      ["1 : 1", "1480", "76.2"],
      ["1 : 2", "1296", "72.9"],
      ["1 : 6", "876", "69.1"],
      ["1 : 12", "748", "57.6"],
    ],
  },
  {
    id: "g2",
    title: "G2. Many groups raise memory access",
    text: "At fixed multiply-adds, g groups let a 1×1 convolution be √g times wider, and wider maps mean more memory traffic (hw(c1 + c2) + c1·c2/g). Ten grouped 1×1 layers, same FLOPs: 8 groups run at less than half the speed of a dense layer on the GPU and 30% slower on ARM.",
    head: ["groups", "GPU, batches/s", "ARM, images/s"],
    rows: [
      ["1", "2451", "40.0"],
      ["2", "1725", "35.0"],
      ["4", "1026", "32.9"],
      ["8", "634", "27.8"],
    ],
  },
  {
    id: "g3",
    title: "G3. Fragmentation reduces parallelism",
    text: "Several small operations (Inception-style branches, NAS cells) do the same multiply-adds as one large one, but each is a separate kernel launch that fills the device less and must be synchronised. Blocks of one to four 1×1 convolutions, same FLOPs (GPU at 128 channels, ARM at 64):",
    head: ["block", "GPU, batches/s", "ARM, images/s"],
    rows: [
      ["1 fragment", "2446", "40.2"],
      ["2 in series", "1790", "38.6"],
      ["4 in series", "752", "38.4"],
      ["2 in parallel", "1537", "33.4"],
      ["4 in parallel", "691", "35.0"],
    ],
  },
  {
    id: "g4",
    title: "G4. Element-wise operations are not free",
    text: "ReLU, additions, bias additions — and depthwise convolutions, which behave alike — do few multiply-adds per element moved, so they count as 0 or little here and still take time. ResNet's bottleneck unit at 32 channels, ReLU and shortcut removed:",
    head: ["ReLU, shortcut", "GPU, batches/s", "ARM, images/s"],
    rows: [
      ["yes, yes", "2427", "56.7"],
      ["yes, no", "2647", "61.9"],
      ["no, yes", "2672", "57.3"],
      ["no, no", "2842", "66.3"],
    ],
  },
];

function notSpeed() {
  return h(
    "section",
    { class: "panel", id: "flops-not-speed" },
    h("h2", { text: "FLOPs are not speed" }),
    h("p", {
      text: "MACs count the arithmetic of convolutions and linear layers. Time also goes into moving data (reading inputs and weights, writing outputs), into the many operations counted as 0 MACs, and into how well each operation keeps the hardware busy — which depends on the device and its libraries. ShuffleNet v2 measured this with small networks of equal FLOPs and derived four guidelines; its numbers:",
    }),
    GUIDELINES.map((g) =>
      h(
        "div",
        { class: "guideline", id: `guideline-${g.id}` },
        h("h3", { text: g.title }),
        h("p", { text: g.text }),
        h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "shares" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                g.head.map((t) => h("th", { scope: "col", text: t })),
              ),
            ),
            h(
              "tbody",
              {},
              g.rows.map((r) =>
                h(
                  "tr",
                  {},
                  r.map((c, i) => h(i ? "td" : "th", { class: i ? "num" : null, text: c })),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
    h("p", {
      class: "hint",
      text: "Ma, Zhang, Zheng and Sun, “ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design”, ECCV 2018, Tables 1–4 (GPU: GeForce GTX 1080Ti with cuDNN 7; ARM: one thread of a Snapdragon 810). This server does not time networks itself: its two cores are shared, so a timing would measure the load of the moment, and a desktop CPU running PyTorch is neither the GPU nor the phone these lessons are about.",
    }),
  );
}

// --- numbers ---------------------------------------------------------------------------------

function int(n) {
  return Number(n).toLocaleString("en-US");
}

function mega(n) {
  return (n / 1e6).toFixed(n >= 1e7 ? 1 : 2);
}

function giga(n) {
  return (n / 1e9).toFixed(n >= 1e10 ? 1 : 3);
}

function mib(n) {
  return `${(n / 2 ** 20).toFixed(2)} MiB`;
}
