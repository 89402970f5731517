// Small inline-SVG charts, drawn here so the page needs no chart library and works offline.
// Each chart scales with its container (viewBox) and carries a text summary for screen readers.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") el.textContent = v;
    else if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}

const W = 360;
const H = 170;
const PAD = { top: 18, right: 18, bottom: 30, left: 34 };

// Round the axis top up to 1, 2 or 5 × 10^k so the grid lines land on readable numbers.
function niceMax(value) {
  if (value <= 4) return Math.max(1, value);
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (m * exp >= value) return m * exp;
  return value;
}

function frame(summary, id) {
  return s(
    "svg",
    {
      viewBox: `0 0 ${W} ${H}`,
      class: "chart",
      role: "img",
      "aria-labelledby": `${id}-title`,
      id,
    },
    s("title", { id: `${id}-title`, text: summary }),
  );
}

function gridlines(svg, max, format, ticks) {
  const innerH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = PAD.top + innerH - (innerH * v) / max;
    svg.append(
      s("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }),
      s("text", {
        x: PAD.left - 4,
        y: y + 3,
        class: "axis",
        "text-anchor": "end",
        text: format(v),
      }),
    );
  }
}

// bars: [{label, value, title, showLabel}]; a value label sits over each non-zero bar when
// there are few enough bars for it to be legible.
export function barChart(bars, { id, summary }) {
  const svg = frame(summary, id);
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  // niceMax gives 1–4 or a multiple of 5, so every grid line lands on a whole number.
  gridlines(svg, max, String, max <= 5 ? max : 5);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / bars.length;
  const barW = Math.max(2, slot * 0.7);
  bars.forEach((b, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const hgt = (innerH * b.value) / max;
    const y = PAD.top + innerH - hgt;
    svg.append(
      s(
        "rect",
        { x, y, width: barW, height: Math.max(hgt, 0), class: "bar", rx: 1.5 },
        s("title", { text: b.title }),
      ),
    );
    if (bars.length <= 10 && b.value > 0) {
      svg.append(
        s("text", {
          x: x + barW / 2,
          y: y - 3,
          class: "value",
          "text-anchor": "middle",
          text: b.value,
        }),
      );
    }
    if (b.showLabel !== false) {
      svg.append(
        s("text", {
          x: x + barW / 2,
          y: H - PAD.bottom + 13,
          class: "axis",
          "text-anchor": "middle",
          text: b.label,
        }),
      );
    }
  });
  return svg;
}

// points: [{label, value (0..1 or null), title, showLabel}]; null days leave a gap in the line.
export function lineChart(points, { id, summary }) {
  const svg = frame(summary, id);
  gridlines(svg, 1, (v) => `${Math.round(v * 100)}%`, 4);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / points.length;
  const xy = (i, v) => [PAD.left + i * slot + slot / 2, PAD.top + innerH - innerH * v];
  let path = "";
  let pen = false;
  points.forEach((p, i) => {
    if (p.value === null) {
      pen = false;
      return;
    }
    const [x, y] = xy(i, p.value);
    path += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    pen = true;
  });
  if (path) svg.append(s("path", { d: path.trim(), class: "line" }));
  points.forEach((p, i) => {
    if (p.value !== null) {
      const [x, y] = xy(i, p.value);
      svg.append(s("circle", { cx: x, cy: y, r: 3, class: "dot" }, s("title", { text: p.title })));
    }
    if (p.showLabel !== false) {
      const [x] = xy(i, 0);
      svg.append(
        s("text", {
          x,
          y: H - PAD.bottom + 13,
          class: "axis",
          "text-anchor": "middle",
          text: p.label,
        }),
      );
    }
  });
  return svg;
}

// One column per layer, in call order: its share of the MACs up from the middle line, its share
// of the parameters down from it, each half scaled to its own largest layer. Shaded bands mark
// the stages. Every column is a link (the layer's name and figures in its title); onPick(i) is
// called instead of following it. The columns are for pointers and touch (no tab stops, one per
// layer would be hundreds): the chart is an image to assistive technology, and the layer table
// it points into holds the same figures. layers: [{macs, params (percentages), title, stage}].
const LW = 720;
const LH = 230;
const LPAD = { top: 16, bottom: 16, left: 40, right: 8 };

export function layerChart(layers, { id, summary, onPick }) {
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${LW} ${LH}`,
      class: "chart layers",
      role: "img",
      "aria-labelledby": `${id}-title`,
      id,
    },
    s("title", { id: `${id}-title`, text: summary }),
  );
  const half = (LH - LPAD.top - LPAD.bottom) / 2;
  const mid = LPAD.top + half;
  const slot = (LW - LPAD.left - LPAD.right) / Math.max(layers.length, 1);
  const topMacs = Math.max(...layers.map((l) => l.macs), 0) || 1;
  const topParams = Math.max(...layers.map((l) => l.params), 0) || 1;
  stageBands(svg, layers, slot, half);
  svg.append(
    s("line", { x1: LPAD.left, x2: LW - LPAD.right, y1: mid, y2: mid, class: "grid" }),
    // The scale is written inside the chart, from its left edge: a label anchored left of the
    // plot would be cut at the SVG's edge ("36.55%" read "6.55%", a wrong number on screen).
    s("text", {
      x: LPAD.left + 2,
      y: LPAD.top - 4,
      class: "axis",
      id: `${id}-macs-scale`,
      text: `MACs ↑ (tallest ${topMacs}% of the total)`,
    }),
    s("text", {
      x: LPAD.left + 2,
      y: LH - 3,
      class: "axis",
      id: `${id}-params-scale`,
      text: `parameters ↓ (tallest ${topParams}% of the total)`,
    }),
  );
  const barW = Math.max(slot * 0.8, 0.6);
  layers.forEach((l, i) => {
    const x = LPAD.left + i * slot;
    const up = (half * l.macs) / topMacs;
    const down = (half * l.params) / topParams;
    const link = s(
      "a",
      { href: `#layer-${i}`, class: "layer-bar", "data-index": i, tabindex: -1 },
      s("title", { text: l.title }),
      s("rect", { x, y: LPAD.top, width: slot, height: 2 * half, class: "hit" }),
      s("rect", {
        x: x + (slot - barW) / 2,
        y: mid - up,
        width: barW,
        height: up,
        class: "bar macs",
      }),
      s("rect", {
        x: x + (slot - barW) / 2,
        y: mid,
        width: barW,
        height: down,
        class: "bar params",
      }),
    );
    link.addEventListener("click", (event) => {
      event.preventDefault();
      onPick(i);
    });
    svg.append(link);
  });
  return svg;
}

function stageBands(svg, layers, slot, half) {
  let start = 0;
  let shade = false;
  layers.forEach((l, i) => {
    const last = i === layers.length - 1 || layers[i + 1].stage !== l.stage;
    if (!last) return;
    if (shade) {
      svg.append(
        s(
          "rect",
          {
            x: LPAD.left + start * slot,
            y: LPAD.top,
            width: (i + 1 - start) * slot,
            height: 2 * half,
            class: "band",
          },
          s("title", { text: l.stage }),
        ),
      );
    }
    shade = !shade;
    start = i + 1;
  });
}
