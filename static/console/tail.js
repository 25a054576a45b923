/* Live tail of a topic: finds <section id="live-tail" data-topic data-partitions>
 * by itself (templates/console/_tail.html) and tails it over the console socket.
 *
 * New events on top; pause keeps only a count and a bounded buffer (no DOM
 * work); filters re-send the tail op; rows are added once per animation frame
 * and the table keeps at most MAX_ROWS, so 1,000 events/s stays smooth.
 *
 * No event goes missing silently: events the page drops (too many waiting to
 * be drawn, or arrived while paused beyond the buffer) become a gap row where
 * they would have been, as a server-side skip ("tail-gap") does, and the
 * status counts them ("N shown · M not shown").
 */
(function () {
  "use strict";
  if (window.SYTail) return; // loaded twice: one tail is enough
  const MAX_ROWS = 500;
  // Events kept when more than MAX_ROWS wait: with the gap row below them
  // they fill the table, so the gap row stays visible.
  const BATCH = MAX_ROWS - 1;
  const BEHIND = "they arrived faster than the page draws them";

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

  // A queue is a list of entries, oldest first: events ({position, event})
  // and gaps ({skipped, why}); `events` counts the events in it.
  function queue() { return { entries: [], events: 0 }; }

  function add(q, entries) {
    for (const e of entries) {
      q.entries.push(e);
      if (!e.gap) q.events++;
    }
  }

  // Keep the newest `keep` events; everything older (events and gaps) becomes
  // one gap in front, so the count of what is missing stays exact.
  function trim(q, keep, why) {
    if (q.events <= keep) return;
    let events = 0, cut = q.entries.length;
    while (events < keep) if (!q.entries[--cut].gap) events++;
    let skipped = 0;
    for (let i = 0; i < cut; i++) skipped += q.entries[i].gap ? q.entries[i].skipped : 1;
    q.entries = [{ gap: true, skipped, why }].concat(q.entries.slice(cut));
    q.events = keep;
  }

  // At most a table's worth: beyond it, BATCH events and a gap row.
  function fit(q, why) {
    if (q.events > MAX_ROWS) trim(q, BATCH, why);
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
    // pending: waiting for the next frame; buffered: held while paused.
    let paused = false, buffered = queue(), missed = 0, pending = queue(), queued = false;
    let positions = null, shown = 0, notShown = 0;

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

    function showCounts() {
      if (paused) {
        const kept = missed > buffered.events ? ` · the newest ${buffered.events} kept` : "";
        showStatus(`paused · ${missed} new${kept}`);
      } else {
        showStatus(`live · ${shown} shown` + (notShown ? ` · ${notShown} not shown` : ""));
      }
    }

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

    function gapRow(gap) {
      const tr = document.createElement("tr");
      tr.className = "tail-gap";
      tr.dataset.skipped = gap.skipped;
      const what = gap.skipped === 1 ? "1 event was" : `${gap.skipped} events were`;
      cell(tr, `${what} not shown here: ${gap.why}.`);
      tr.firstChild.colSpan = 7;
      return tr;
    }

    function render() {
      queued = false;
      // More rows than the table keeps would be removed at once: draw a gap.
      fit(pending, BEHIND);
      const items = pending.entries;
      pending = queue();
      const fragment = document.createDocumentFragment();
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        if (item.gap) {
          fragment.appendChild(gapRow(item));
          notShown += item.skipped;
        } else {
          fragment.appendChild(row(item));
          shown++;
        }
      }
      body.insertBefore(fragment, body.firstChild);
      while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
      showCounts();
    }

    function schedule() {
      if (!queued) { queued = true; requestAnimationFrame(render); }
    }

    // Queue entries for the next frame; beyond 2 tables' worth the oldest are
    // dropped (into a gap) without waiting for the frame.
    function draw(entries) {
      add(pending, entries);
      if (pending.events > MAX_ROWS * 2) trim(pending, BATCH, BEHIND);
      schedule();
    }

    // Events and gaps go through the same queue, so a gap keeps its place.
    function receive(entries, skipped) {
      if (paused) {
        // No DOM work while paused: keep the newest events and a count.
        missed += skipped;
        add(buffered, entries);
        fit(buffered, `more than ${MAX_ROWS} arrived while paused`);
        showCounts();
        return;
      }
      draw(entries);
    }

    window.SY.on("tail", function (m) {
      if (m.id !== id) return;
      positions = m.positions;
      receive(m.events, m.events.length);
    });
    window.SY.on("tail-gap", function (m) {
      if (m.id !== id) return;
      positions = m.positions;
      const why = "the page fell behind and the server skipped them";
      receive([{ gap: true, skipped: m.skipped, why }], m.skipped);
    });
    window.SY.on("tail-error", function (m) { if (m.id === id) showStatus(m.message); });
    window.SY.on("error", function (m) { if (m.id === id) showStatus(m.message); });
    window.SY.on("tailing", function (m) { if (m.id === id) showCounts(); });
    // After a reconnect, resume exactly after the last positions seen.
    window.SY.on("open", function () { request(true); });
    window.SY.on("close", function () { showStatus("connection lost; reconnecting…"); });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      body.innerHTML = "";
      pending = queue(); buffered = queue(); missed = 0; shown = 0; notShown = 0;
      positions = null;
      request(false);
    });
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.textContent = paused ? "Resume" : "Pause";
      if (paused) { showCounts(); return; }
      // After what was still waiting when Pause was clicked, if not drawn yet.
      const held = buffered.entries;
      buffered = queue(); missed = 0;
      draw(held);
    });
    // The socket may already be open (script loaded late): ask now as well;
    // the same id again only replaces the tail.
    if (document.getElementById("live")?.classList.contains("on")) request(false);
  }

  window.SYTail = { init };
  const section = document.getElementById("live-tail");
  if (section && section.dataset.topic) init(section);
})();
