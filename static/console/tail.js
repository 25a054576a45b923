/* Live tail of a topic: finds <section id="live-tail" data-topic data-partitions>
 * by itself (templates/console/_tail.html) and tails it over the console socket.
 *
 * New events on top; pause keeps only a count and a bounded buffer (no DOM
 * work); filters re-send the tail op; rows are added once per animation frame
 * and the table keeps at most MAX_ROWS, so 1,000 events/s stays smooth.
 */
(function () {
  "use strict";
  if (window.SYTail) return; // loaded twice: one tail is enough
  const MAX_ROWS = 500;

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  function clock(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso || "";
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function init(section) {
    const topic = section.dataset.topic;
    const count = Number(section.dataset.partitions || 0);
    const id = "tail-" + Math.random().toString(36).slice(2, 8);
    const options = ['<option value="">all</option>'];
    for (let p = 0; p < count; p++) options.push(`<option value="${p}">${p}</option>`);
    section.classList.add("card", "live-tail");
    section.innerHTML = `
      <h2>Live tail</h2>
      <form class="tail-filters">
        <label>type <input name="types" placeholder="order.*" size="14"></label>
        <label>key <input name="key" size="12"></label>
        <label>subject <input name="subject" size="12"></label>
        <label>partition <select name="partition">${options.join("")}</select></label>
        <button type="submit">Apply filters</button>
        <button type="button" class="tail-pause">Pause</button>
        <span class="tail-status muted">connecting…</span>
      </form>
      <table class="tail"><thead><tr><th>time</th><th class="num">partition</th><th>position</th>
        <th>type</th><th>key</th><th>subject</th><th>data</th></tr></thead><tbody></tbody></table>`;
    const form = section.querySelector("form");
    const body = section.querySelector("tbody");
    const status = section.querySelector(".tail-status");
    const pauseButton = section.querySelector(".tail-pause");
    let paused = false, buffered = [], missed = 0, pending = [], queued = false;
    let positions = null, shown = 0;

    function request(resume) {
      const data = new FormData(form);
      const types = String(data.get("types") || "").split(",").map((t) => t.trim()).filter(Boolean);
      const partition = data.get("partition");
      window.SY.send({
        op: "tail", id, topic,
        types: types.length ? types : null,
        key: data.get("key") || null,
        subject: data.get("subject") || null,
        partitions: partition === "" || partition === null ? null : [Number(partition)],
        from: resume && positions ? positions : "latest",
      });
    }

    function showStatus(text) { status.textContent = text; }

    function row(item) {
      const tr = document.createElement("tr");
      const e = item.event;
      cell(tr, clock(e.time));
      cell(tr, item.position.partition, "num");
      cell(tr, item.position.id, "mono");
      cell(tr, e.type);
      cell(tr, e.partitionkey || "");
      cell(tr, e.subject || "");
      const data = JSON.stringify(e.data);
      cell(tr, data.length > 160 ? data.slice(0, 160) + "…" : data, "mono");
      tr.dataset.eventId = e.id;
      return tr;
    }

    function render() {
      queued = false;
      const items = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
      pending = [];
      const fragment = document.createDocumentFragment();
      for (let i = items.length - 1; i >= 0; i--) fragment.appendChild(row(items[i]));
      body.insertBefore(fragment, body.firstChild);
      while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
      shown += items.length;
      showStatus(`live · ${shown} shown`);
    }

    function schedule() {
      if (!queued) { queued = true; requestAnimationFrame(render); }
    }

    function gapRow(text) {
      const tr = document.createElement("tr");
      tr.className = "tail-gap";
      cell(tr, text);
      tr.firstChild.colSpan = 7;
      body.insertBefore(tr, body.firstChild);
    }

    window.SY.on("tail", function (m) {
      if (m.id !== id) return;
      positions = m.positions;
      if (paused) {
        // No DOM work while paused: keep the newest events and a count.
        missed += m.events.length;
        buffered.push(...m.events);
        if (buffered.length > MAX_ROWS) buffered = buffered.slice(-MAX_ROWS);
        showStatus(`paused · ${missed} new`);
        return;
      }
      pending.push(...m.events);
      if (pending.length > MAX_ROWS * 2) pending = pending.slice(-MAX_ROWS);
      schedule();
    });
    window.SY.on("tail-gap", function (m) {
      if (m.id !== id) return;
      positions = m.positions;
      render();
      gapRow(`The page fell behind: ${m.skipped} events were skipped here.`);
    });
    window.SY.on("tail-error", function (m) { if (m.id === id) showStatus(m.message); });
    window.SY.on("error", function (m) { if (m.id === id) showStatus(m.message); });
    window.SY.on("tailing", function (m) { if (m.id === id) showStatus(`live · ${shown} shown`); });
    // After a reconnect, resume exactly after the last positions seen.
    window.SY.on("open", function () { request(true); });
    window.SY.on("close", function () { showStatus("connection lost; reconnecting…"); });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      body.innerHTML = "";
      pending = []; buffered = []; missed = 0; shown = 0; positions = null;
      request(false);
    });
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.textContent = paused ? "Resume" : "Pause";
      if (paused) { showStatus("paused · 0 new"); return; }
      pending.push(...buffered);
      buffered = []; missed = 0;
      schedule();
    });
    // The socket may already be open (script loaded late): ask now as well;
    // the same id again only replaces the tail.
    if (document.getElementById("live")?.classList.contains("on")) request(false);
  }

  window.SYTail = { init };
  const section = document.getElementById("live-tail");
  if (section && section.dataset.topic) init(section);
})();
