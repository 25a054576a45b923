/* Hand-written SVG charts for every console page (no library, works offline).
 *
 * SYCharts.line(svg, series, opts)  line chart; series = [{name, points: [[ms, v]...]}]
 *                                   opts: {from, to (ms), unit, colors}
 * SYCharts.spark(svg, values)       sparkline of numbers (null: gap)
 * SYCharts.points(raw)              {"<epoch s>": v} (sample "series") -> [[ms, v]...]
 * SYCharts.num(v) / .age(ms)        display helpers; undefined shows "unknown"
 *
 * Pages with rows marked data-topic/data-group[/data-partition] and cells
 * marked data-field, or svg.spark[data-group], are kept live from the
 * sampled snapshot automatically (the groups and group pages). A row or
 * sparkline with a data-partition shows that partition's own figures.
 */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

  function num(v) {
    if (v === undefined || v === null) return "unknown";
    if (typeof v !== "number") return String(v);
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
    return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  }

  function age(ms) {
    if (ms === undefined || ms === null) return "unknown";
    if (ms < 1000) return ms + " ms";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
  }

  function points(raw) {
    return Object.entries(raw || {})
      .map(([t, v]) => [Number(t) * 1000, v])
      .sort((a, b) => a[0] - b[0]);
  }

  function line(svg, series, opts) {
    opts = opts || {};
    const W = 600, H = 180, L = 48, R = 8, T = 8, B = 22;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.classList.add("chart");
    clear(svg);
    const to = opts.to || Date.now();
    const from = opts.from || to - 3600 * 1000;
    let max = 0;
    for (const s of series) for (const [t, v] of s.points) if (t >= from && v > max) max = v;
    max = max > 0 ? max * 1.1 : 1;
    const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
    const y = (v) => T + (1 - v / max) * (H - T - B);
    // Grid and labels: 0, half, max on y; minutes ago on x.
    for (const f of [0, 0.5, 1]) {
      el("line", { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), stroke: "#e5e7eb" }, svg);
      const label = el("text", { x: L - 4, y: y(max * f) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7280" }, svg);
      label.textContent = num(max * f) + (f === 1 && opts.unit ? " " + opts.unit : "");
    }
    const span = (to - from) / 60000;
    for (const m of [span, span / 2, 0]) {
      const anchor = m === span ? "start" : m ? "middle" : "end";
      const label = el("text", { x: x(to - m * 60000), y: H - 6, "text-anchor": anchor, "font-size": 11, fill: "#6b7280" }, svg);
      label.textContent = m ? `-${Math.round(m)} min` : "now";
    }
    series.forEach((s, i) => {
      const color = s.color || (opts.colors || COLORS)[i % COLORS.length];
      const d = s.points.filter(([t]) => t >= from)
        .map(([t, v], j) => `${j ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join("");
      if (d) el("path", { d, fill: "none", stroke: color, "stroke-width": 1.5 }, svg);
      const key = el("text", { x: L + 6 + i * 140, y: T + 12, "font-size": 11, fill: color }, svg);
      key.textContent = s.name;
    });
    return svg;
  }

  function spark(svg, values) {
    const W = 120, H = 24;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.classList.add("spark");
    clear(svg);
    const known = values.filter((v) => v !== null && v !== undefined);
    if (!known.length) return svg;
    const max = Math.max(...known) || 1;
    const step = values.length > 1 ? W / (values.length - 1) : W;
    let d = "", pen = false;
    values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? "L" : "M"}${(i * step).toFixed(1)},${(H - 2 - (v / max) * (H - 4)).toFixed(1)}`;
      pen = true;
    });
    el("path", { d, fill: "none", stroke: "#2563eb", "stroke-width": 1.2 }, svg);
    return svg;
  }

  function when(ms) {
    // The server renders "2026-01-01 12:00:00 UTC" (console.views.groups.fmt_when).
    return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
  }

  // Live rows: fill data-field cells from SY.state (groups pages).
  function fieldValue(state, topic, group, partition, field) {
    const key = `${topic}/${group}`;
    const g = (state.groups || {})[key];
    if (!g) return undefined;
    const row = partition && partition !== "all" ? (g.partitions || {})[partition] : g;
    if (!row) return undefined;
    switch (field) {
      case "time_lag": return age(row.time_lag_ms);
      case "rate": return row.rate_out === undefined ? "unknown" : num(row.rate_out) + "/s";
      case "last_batch": return when(row.last_ms);
      case "consumers": return num(((state.workers || {})[group] || {}).online);
      case "dead": return num((state.dead_letters || {})[key] || 0);
      case "owner": return row.owner || "—";
      case "position": return row.position || "unknown";
      default: return num(row[field]);
    }
  }

  function refreshRows() {
    const state = window.SY.state || {};
    for (const row of document.querySelectorAll("[data-topic][data-group]")) {
      const { topic, group, partition } = row.dataset;
      for (const cell of row.querySelectorAll("[data-field]")) {
        const value = fieldValue(state, topic, group, partition, cell.dataset.field);
        if (value === undefined) continue;
        const target = cell.querySelector("a") || cell; // keep links (dead letters)
        if (target.textContent !== value) target.textContent = value;
      }
    }
    for (const svg of document.querySelectorAll("svg.spark[data-group]")) {
      const { topic, group, partition } = svg.dataset;
      // A partition's sparkline draws its own backlog, never the group's.
      const name = partition && partition !== "all"
        ? `part_backlog/${topic}/${group}/${partition}` : `backlog/${topic}/${group}`;
      const raw = (state.series || {})[name];
      spark(svg, points(raw).slice(-120).map(([, v]) => v));
    }
  }

  window.SYCharts = { line, spark, points, num, age };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.SY) return;
    if (!document.querySelector("[data-group] [data-field], svg.spark[data-group]")) return;
    window.SY.watch("groups");
    let queued = false;
    window.SY.on("sample", function () {
      if (queued) return;
      queued = true;
      requestAnimationFrame(function () { queued = false; refreshRows(); });
    });
  });
})();
