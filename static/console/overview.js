/* Overview: fills the server-rendered skeleton from SY.state (live samples). */
(function () {
  "use strict";
  const { num, age, points, line, spark } = window.SYCharts;
  const $ = (id) => document.getElementById(id);

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function facts(rows) {
    return '<dl class="facts">' + rows.map(([k, v, cls]) =>
      `<dt>${esc(k)}</dt><dd${cls ? ` class="${cls}"` : ""}>${esc(v)}</dd>`).join("") + "</dl>";
  }

  function renderHealth(s) {
    const redis = s.health.redis || {};
    const db = s.health.db || {};
    // The Redis and database banners come from console.js, on every page.
    $("health-redis").innerHTML = "<h2>Redis</h2>" + (redis.ok ? facts([
      ["status", "up", "ok"],
      ["version", redis.version],
      ["memory", redis.memory + (redis.maxmemory && redis.maxmemory !== "0B" ? " of " + redis.maxmemory : "")],
      ["AOF", redis.aof_enabled ? "on" : "off", redis.aof_enabled ? "ok" : "warn"],
      ["last AOF write", redis.aof_last_write_status || "unknown", redis.aof_last_write_status === "ok" ? "ok" : "bad"],
    ]) : facts([["status", "down", "bad"], ["error", redis.error || "unknown"]]));
    $("health-db").innerHTML = "<h2>Database</h2>" + (db.ok ? facts([
      ["status", "up", "ok"], ["engine", db.vendor], ["SELECT 1", db.ms + " ms"],
    ]) : facts([["status", "down", "bad"], ["error", db.error || "unknown"]]));
    const workers = Object.entries(s.workers || {});
    $("health-workers").innerHTML = "<h2>Workers</h2>" + (workers.length ? facts(workers.map(([group, w]) => [
      group, `${w.online} online · ${w.rate === undefined ? "unknown" : num(w.rate)}/s`, w.online ? "ok" : "bad",
    ])) : '<p class="muted">No consumer groups.</p>');
  }

  function renderCharts(s) {
    const box = $("rate-charts");
    const topics = Object.keys(s.topics || {}).sort();
    if (!topics.length) return;
    box.querySelector("p.muted")?.remove();
    const series = s.series || {};
    for (const topic of topics) {
      let fig = box.querySelector(`figure[data-topic="${CSS.escape(topic)}"]`);
      if (!fig) {
        fig = document.createElement("figure");
        fig.dataset.topic = topic;
        fig.innerHTML = `<figcaption></figcaption><svg class="chart" role="img"></svg>`;
        box.appendChild(fig);
      }
      const t = s.topics[topic];
      fig.querySelector("figcaption").textContent =
        `${topic} · in ${num(t.rate_in)}/s · ${num(t.length)} held`;
      const lines = [{ name: "in", points: points(series["in/" + topic]) }];
      for (const [key, g] of Object.entries(s.groups || {})) {
        if (g.topic === topic) lines.push({ name: "out " + g.group, points: points(series["out/" + key]) });
      }
      line(fig.querySelector("svg"), lines, { to: s.t, unit: "/s" });
    }
  }

  function renderGroups(s) {
    const groups = Object.entries(s.groups || {}).sort();
    const body = $("groups-table").tBodies[0];
    if (!groups.length) return;
    body.innerHTML = groups.map(([key, g]) =>
      `<tr data-key="${esc(key)}"><td>${esc(g.topic)}</td><td>${esc(g.group)}</td>` +
      `<td class="num">${num(g.backlog)}</td><td class="num">${num(g.pending)}</td>` +
      `<td class="num">${age(g.time_lag_ms)}</td><td class="num">${num(g.rate_out)}</td>` +
      `<td><svg class="spark"></svg></td></tr>`).join("");
    for (const row of body.rows) {
      const raw = (s.series || {})["backlog/" + row.dataset.key];
      spark(row.querySelector("svg"), points(raw).slice(-120).map(([, v]) => v));
    }
    const dlq = Object.entries(s.dead_letters || {}).sort();
    $("dlq-table").tBodies[0].innerHTML = dlq.length ? dlq.map(([key, n]) => {
      const [topic, ...rest] = key.split("/");
      return `<tr><td>${esc(topic)}</td><td>${esc(rest.join("/"))}</td><td class="num${n ? " bad" : ""}">${num(n)}</td></tr>`;
    }).join("") : '<tr><td colspan="3" class="muted">No dead letters.</td></tr>';
  }

  function render() {
    const s = window.SY.state;
    if (!s || !s.health) return;
    const when = new Date(s.t).toLocaleTimeString();
    $("overview-status").textContent = `Live · sampled ${when} in ${s.health.sample_ms} ms` +
      (s.stale ? " · figures are from before Redis went away" : "");
    renderHealth(s);
    renderCharts(s);
    renderGroups(s);
  }

  // Samples can come faster than frames: draw at most once per frame.
  let queued = false;
  window.SY.on("sample", function () {
    if (queued) return;
    queued = true;
    requestAnimationFrame(function () { queued = false; render(); });
  });
  window.SY.on("close", function () {
    $("overview-status").textContent = "Connection lost; reconnecting… (figures below are frozen)";
  });
  window.SY.watch("overview");
})();
