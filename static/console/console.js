/* One WebSocket per browser tab: the server pushes; the page never polls.
 *
 * SY.on(kind, fn)      call fn(message) for every server message of that kind
 * SY.send(message)     send a JSON message (queued until the socket is open)
 * SY.watch(feed)       ask for a sampled feed ("overview", "groups", ...);
 *                      re-sent after every reconnect
 * SY.banner(id, text)  show (or, with empty text, remove) a banner
 *                      (the firing alerts line is kept current here too)
 * SY.state             the latest sample, kept current by merge patches
 *                      (RFC 7386: a null value deletes the key)
 */
(function () {
  "use strict";
  const handlers = {};
  const watched = new Set();
  const pending = [];
  let socket = null;
  let delay = 500;

  function mergePatch(target, patch) {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
    if (target === null || typeof target !== "object" || Array.isArray(target)) target = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete target[key];
      else target[key] = mergePatch(target[key], value);
    }
    return target;
  }

  function emit(kind, message) {
    for (const fn of handlers[kind] || []) {
      try { fn(message); } catch (err) { console.error("console handler for", kind, err); }
    }
  }

  function setLive(on) {
    const badge = document.getElementById("live");
    if (!badge) return;
    badge.textContent = on ? "live" : "reconnecting";
    badge.classList.toggle("on", on);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/console/`);
    socket.onopen = function () {
      delay = 500;
      setLive(true);
      if (watched.size) socket.send(JSON.stringify({ op: "watch", feeds: [...watched] }));
      emit("open", {});
      while (pending.length) socket.send(pending.shift());
    };
    socket.onmessage = function (frame) {
      const message = JSON.parse(frame.data);
      if (message.kind === "sample") {
        SY.state = message.full ? message.data : mergePatch(SY.state, message.data);
        emit("sample", message);
      } else {
        emit(message.kind, message);
      }
    };
    socket.onclose = function (event) {
      setLive(false);
      emit("close", { code: event.code, reason: event.reason });
      if (event.code === 4401 || event.code === 4403) return; // logged out: no retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  const SY = {
    state: {},
    on(kind, fn) { (handlers[kind] = handlers[kind] || []).push(fn); },
    send(message) {
      const text = JSON.stringify(message);
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
      else pending.push(text);
    },
    watch(feed) {
      watched.add(feed);
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ op: "watch", feeds: [...watched] }));
      }
    },
    mergePatch,
    banner,
  };
  window.SY = SY;

  // Banners on every page, from the sampled health: Redis or the database
  // down, and consumer groups with a backlog but no live worker.
  function banner(id, text) {
    let node = document.getElementById(id);
    if (!text) { if (node) node.remove(); return; }
    if (!node) {
      node = document.createElement("div");
      node.id = id;
      node.className = "banner banner-error";
      document.getElementById("banners").appendChild(node);
    }
    node.textContent = text;
  }
  SY.on("sample", function () {
    const state = SY.state || {};
    const health = state.health || {};
    const redis = health.redis || {};
    const db = health.db || {};
    banner("banner-redis", redis.ok === false ? redis.error : "");
    banner("banner-db", db.ok === false ? db.error : "");
    const idle = [];
    for (const row of Object.values(state.groups || {})) {
      const workers = (state.workers || {})[row.group];
      if (workers && workers.online === 0 && row.backlog > 0) {
        idle.push(`${row.group} (${row.topic}: ${row.backlog} waiting)`);
      }
    }
    banner("banner-workers", idle.length
      ? `No worker is consuming: ${idle.join(", ")}. Start the group's worker; it catches up from its position.`
      : "");
    renderAlerts(state.alerts);
  });

  // Firing alerts, in the markup base.html renders at page load. A sample
  // without "alerts" (the database never answered) leaves the line as it is.
  function figure(v) {
    if (v === undefined || v === null) return "unknown";
    return Number.isInteger(v) ? String(v) : v.toFixed(2); // floatformat:"-2"
  }
  function renderAlerts(alerts) {
    const box = document.getElementById("alerts-firing");
    if (!box || !Array.isArray(alerts)) return;
    const shown = JSON.stringify(alerts);
    if (box.dataset.shown === shown) return;
    box.dataset.shown = shown;
    box.replaceChildren();
    box.hidden = !alerts.length;
    if (!alerts.length) return;
    const title = document.createElement("strong");
    title.textContent = "Firing:";
    box.append(title);
    alerts.forEach(function (alert, i) {
      const link = document.createElement("a");
      link.className = "alert-firing";
      link.href = box.dataset.href;
      link.dataset.alert = alert.id;
      link.textContent = `${alert.rule} (${alert.topic}/${alert.group} ${alert.metric} ` +
        `${figure(alert.value)} > ${figure(alert.threshold)})`;
      box.append(" ", link);
      if (i < alerts.length - 1) box.append(",");
    });
  }

  if (document.body.dataset.role && document.body.dataset.role !== "none") {
    connect();
    SY.watch("health");
  }
})();
