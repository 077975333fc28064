"use strict";
// mcptop's session report. Everything it shows comes from the JSON document embedded in the
// page (`mcptop export --format json` gives the same document): text reaches the page only
// as text nodes, never as markup, and the page loads nothing from anywhere.
(function () {
  const t0 = performance.now();
  const doc = JSON.parse(document.getElementById("data").textContent);
  const calls = doc.calls;
  const byId = new Map(calls.map((c) => [c.id, c]));
  const ROW = 24;
  const span = Math.max(doc.duration_s, 1e-3);

  // ---- helpers -------------------------------------------------------------------------
  function el(tag, cls, ...kids) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const k of kids) {
      if (k === null || k === undefined) continue;
      e.append(typeof k === "string" || typeof k === "number" ? String(k) : k);
    }
    return e;
  }
  function dur(s) {
    if (s === null || s === undefined || !isFinite(s)) return "";
    if (s < 0) s = 0;
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return (s < 10 ? s.toFixed(2) : s.toFixed(1)) + " s";
    const m = Math.floor(s / 60), r = Math.floor(s % 60);
    if (m < 60) return m + "m " + String(r).padStart(2, "0") + "s";
    const h = Math.floor(m / 60);
    return h + "h " + String(m % 60).padStart(2, "0") + "m";
  }
  function offset(s) { return "+" + dur(s); }
  function num(v) {
    if (v === null || v === undefined) return "";
    return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  }
  function state(c) { return c.status === "running" && c.waiting ? "waiting" : c.status; }
  function stateLabel(c) {
    if (c.status === "running" && c.waiting) return "waiting (" + c.waiting + ")";
    return c.status === "running" ? "running at end" : c.status;
  }
  function end(c) { return c.end_s === null ? c.start_s + c.elapsed_s : c.end_s; }
  function session(c) { return c.session_label || c.session || ""; }
  function pretty(v) { return typeof v === "string" ? v : JSON.stringify(v, null, 2); }

  // ---- header ---------------------------------------------------------------------------
  document.getElementById("title").textContent = doc.title;
  const src = doc.source;
  const meta = [];
  if (src.label) meta.push(src.label);
  else if (src.session_id) meta.push("session " + src.session_id);
  if (src.transport) meta.push(src.transport);
  meta.push(doc.started_at.replace("T", " ") + " \u2192 " + doc.ended_at.replace("T", " "));
  meta.push(dur(doc.duration_s));
  if (src.daemon) meta.push(src.daemon);
  document.getElementById("meta").textContent = meta.join(" \u00b7 ");
  const counts = document.getElementById("counts");
  counts.append(el("span", "chip", doc.counts.calls + " calls"));
  for (const k of ["running", "done", "failed", "cancelled", "lost"]) {
    if (doc.counts[k]) counts.append(el("span", "chip s-" + k, doc.counts[k] + " " + (k === "running" ? "running at end" : k)));
  }
  if (doc.counts.evicted) counts.append(el("span", "chip", doc.counts.evicted + " left out (over the bound on calls)"));

  // ---- findings -------------------------------------------------------------------------
  const fl = document.getElementById("findings");
  document.getElementById("findings-count").textContent = "(" + doc.findings.length + ")";
  if (!doc.findings.length) fl.append(el("li", "muted", "none: no stall, loss or odd progress at any point"));
  for (const f of doc.findings) {
    const li = el("li", null, el("span", "muted", offset(f.first_s) + " "), f.message);
    if (f.call !== null && byId.has(f.call)) {
      const a = el("a", null, " open the call");
      a.dataset.call = String(f.call);
      a.addEventListener("click", () => openCall(f.call, true));
      li.append(a);
    }
    fl.append(li);
  }

  // ---- tools ----------------------------------------------------------------------------
  const tb = document.querySelector("#tools tbody");
  for (const t of doc.tools) {
    const tr = el("tr", "pick",
      el("td", null, t.tool), el("td", "num", t.calls), el("td", "num", t.running),
      el("td", "num" + (t.failed ? " s-failed" : ""), t.failed),
      el("td", "num", t.failure_percent === null ? "" : t.failure_percent.toFixed(1)),
      el("td", "num", dur(t.p50_s)), el("td", "num", dur(t.p95_s)), el("td", "num", dur(t.max_s)),
      el("td", "err", t.last_error || ""));
    tr.title = "show only " + t.tool;
    tr.addEventListener("click", () => { filterBox.value = t.tool; refilter(); });
    tb.append(tr);
  }
  if (!doc.tools.length) tb.append(el("tr", null, el("td", "muted", "no calls")));

  // ---- servers --------------------------------------------------------------------------
  const sv = document.getElementById("servers");
  if (!doc.servers.length) sv.append(el("p", "muted", "no server was seen by a tap"));
  for (const s of doc.servers) {
    const head = [s.name || "server", s.version, s.protocol && "MCP " + s.protocol, s.label]
      .filter(Boolean).join(" \u00b7 ");
    const d = el("details", "server", el("summary", null, head + " \u2014 " + s.tools.length + " tools"));
    const table = el("table", "grid");
    table.append(el("thead", null, el("tr", null, el("th", null, "tool"), el("th", null, "description"), el("th", null, "fingerprint"))));
    const body = el("tbody");
    for (const t of s.tools) body.append(el("tr", null, el("td", null, t.name), el("td", null, t.description || ""), el("td", "muted", t.digest || "")));
    table.append(body);
    d.append(table);
    sv.append(d);
  }

  // ---- calls: filter, order, a virtual list with its waterfall --------------------------
  const filterBox = document.getElementById("filter");
  const statusBox = document.getElementById("status");
  const sortBox = document.getElementById("sort");
  const viewport = document.getElementById("viewport");
  const spacer = document.getElementById("spacer");
  const axis = document.getElementById("axis");
  const tip = document.getElementById("tip");
  let shown = calls.slice();
  let view = [0, span];
  let selected = null;
  const pool = [];

  function matches(c, q) {
    if (!q) return true;
    const hay = [c.tool, session(c), c.message, c.error, c.token, String(c.id), c.task]
      .filter(Boolean).join("\n").toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  }
  function refilter() {
    const q = filterBox.value.trim().toLowerCase();
    const st = statusBox.value;
    shown = calls.filter((c) => (!st || c.status === st) && matches(c, q));
    const order = sortBox.value;
    if (order === "longest") shown.sort((a, b) => b.elapsed_s - a.elapsed_s || a.id - b.id);
    else if (order === "tool") shown.sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : a.start_s - b.start_s));
    else shown.sort((a, b) => a.start_s - b.start_s || a.id - b.id);
    document.getElementById("calls-count").textContent =
      "(" + (shown.length === calls.length ? calls.length : shown.length + " of " + calls.length) + ")";
    spacer.style.height = shown.length * ROW + "px";
    fit();
    render();
  }
  // As tall as its calls, up to most of the window.
  function fit() {
    viewport.style.height = Math.max(Math.min(shown.length * ROW + 2, window.innerHeight * 0.6), 4 * ROW) + "px";
  }
  for (const box of [filterBox, statusBox, sortBox]) box.addEventListener("input", refilter);

  function x(s) { return ((s - view[0]) / (view[1] - view[0])) * 100; }
  function placeBar(bar, c) {
    const a = Math.max(x(c.start_s), -1), b = Math.min(x(end(c)), 101);
    bar.hidden = b < 0 || a > 100;
    bar.style.left = a + "%";
    bar.style.width = Math.max(b - a, 0) + "%";
  }
  function drawAxis() {
    axis.replaceChildren();
    const w = view[1] - view[0];
    const raw = w / 6;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || raw;
    for (let s = Math.ceil(view[0] / step) * step; s <= view[1]; s += step) {
      const tk = el("span", "tick", dur(s));
      tk.style.left = x(s) + "%";
      axis.append(tk);
    }
    document.getElementById("window").textContent =
      view[0] <= 0 && view[1] >= span ? "" : "showing " + offset(view[0]) + " \u2013 " + offset(view[1]);
  }
  function makeRow() {
    const r = el("div", "row");
    r.cells = {
      state: el("span", "c-state"), tool: el("span", "c-tool"), session: el("span", "c-session"),
      start: el("span", "c-start num"), dur: el("span", "c-dur num"), msg: el("span", "c-msg"),
      wf: el("span", "c-wf"),
    };
    r.bar = el("span", "bar");
    r.cells.wf.append(r.bar);
    r.append(...Object.values(r.cells));
    r.addEventListener("click", () => openCall(r.call.id, false));
    r.bar.addEventListener("mousemove", (e) => showTip(e, r.call));
    r.bar.addEventListener("mouseleave", () => { tip.hidden = true; });
    r.bar.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      const c = r.call, pad = Math.max((end(c) - c.start_s) * 0.1, 1e-3);
      setView(c.start_s - pad, end(c) + pad);
    });
    spacer.append(r);
    return r;
  }
  function render() {
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 5);
    const count = Math.ceil(viewport.clientHeight / ROW) + 10;
    while (pool.length < count) pool.push(makeRow());
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i], c = shown[first + i];
      if (!c || i >= count) { r.hidden = true; continue; }
      r.hidden = false;
      r.call = c;
      r.style.top = (first + i) * ROW + "px";
      r.className = "row" + (c.id === selected ? " sel" : "");
      r.dataset.call = String(c.id);
      const st = state(c);
      r.cells.state.className = "c-state s-" + st;
      r.cells.state.textContent = st === "running" ? "running" : st;
      r.cells.tool.textContent = c.tool;
      r.cells.session.textContent = session(c);
      r.cells.start.textContent = offset(c.start_s);
      r.cells.dur.textContent = dur(c.elapsed_s) + (c.status === "running" ? "+" : "");
      r.cells.msg.textContent = c.error || c.message || "";
      r.cells.msg.title = c.error || c.message || "";
      r.bar.className = "bar s-" + st + (c.status === "running" ? " open" : "");
      placeBar(r.bar, c);
    }
    drawAxis();
  }
  let pending = false;
  viewport.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  });
  window.addEventListener("resize", () => { fit(); render(); });

  function showTip(e, c) {
    const lines = [c.tool + (c.token ? " #" + c.token : ""), stateLabel(c),
      "start " + offset(c.start_s) + " \u00b7 " + dur(c.elapsed_s)];
    if (c.reported_duration_s !== null) lines.push("reported " + dur(c.reported_duration_s));
    if (c.progress !== null) lines.push("progress " + num(c.progress) + (c.total !== null ? " / " + num(c.total) : ""));
    if (c.error) lines.push(c.error);
    else if (c.message) lines.push(c.message);
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - w - 4) + "px";
    tip.style.top = Math.min(e.clientY + 14, window.innerHeight - h - 4) + "px";
  }

  // ---- zoom and pan ---------------------------------------------------------------------
  function setView(a, b) {
    const min = Math.min(span, 1e-3);
    if (b - a < min) { const m = (a + b) / 2; a = m - min / 2; b = m + min / 2; }
    if (a < 0) { b -= a; a = 0; }
    if (b > span) { a -= b - span; b = span; }
    view = [Math.max(0, a), Math.min(span, b)];
    render();
  }
  function zoom(factor, at) {
    const w = view[1] - view[0];
    const f = at === undefined ? 0.5 : at;
    const c = view[0] + w * f;
    setView(c - w * factor * f, c + w * factor * (1 - f));
  }
  document.getElementById("zoom-in").addEventListener("click", () => zoom(0.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(2));
  document.getElementById("zoom-reset").addEventListener("click", () => setView(0, span));
  function wfFraction(e) {
    const r = axis.getBoundingClientRect();
    return Math.min(Math.max((e.clientX - r.left) / Math.max(r.width, 1), 0), 1);
  }
  document.getElementById("list").addEventListener("wheel", (e) => {
    if (!(e.ctrlKey || e.metaKey || e.altKey)) return;
    e.preventDefault();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, wfFraction(e));
  }, { passive: false });
  let drag = null;
  spacer.addEventListener("mousedown", (e) => {
    if (!e.target.closest(".c-wf") || e.button !== 0) return;
    drag = { x: e.clientX, view: view.slice(), moved: false };
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const r = axis.getBoundingClientRect();
    const dx = ((e.clientX - drag.x) / Math.max(r.width, 1)) * (drag.view[1] - drag.view[0]);
    if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
    if (drag.moved) setView(drag.view[0] - dx, drag.view[1] - dx);
  });
  window.addEventListener("mouseup", () => { drag = null; });
  spacer.addEventListener("click", (e) => { if (drag && drag.moved) e.stopPropagation(); }, true);

  // ---- a call's detail ------------------------------------------------------------------
  const detail = document.getElementById("detail");
  const body = document.getElementById("detail-body");
  function field(dl, k, v, cls) {
    if (v === null || v === undefined || v === "") return;
    dl.append(el("dt", null, k), el("dd", cls || null, String(v)));
  }
  function curve(points, total) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "curve");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs);
    const top = Math.max(total || 0, ...ys) || 1;
    if (total) {
      const l = document.createElementNS(ns, "line");
      l.setAttribute("x1", "0"); l.setAttribute("x2", "100");
      l.setAttribute("y1", "2"); l.setAttribute("y2", "2");
      svg.append(l);
    }
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) =>
      ((x1 > x0 ? (p[0] - x0) / (x1 - x0) : 1) * 100).toFixed(2) + "," +
      (100 - (p[1] / top) * 98).toFixed(2)).join(" "));
    svg.append(line);
    return svg;
  }
  function openCall(id, scroll) {
    const c = byId.get(id);
    if (!c) return;
    selected = id;
    body.replaceChildren();
    body.append(el("h3", null, c.tool + (c.token ? " #" + c.token : "")));
    const dl = el("dl");
    dl.append(el("dt", null, "state"), el("dd", "s-" + state(c), stateLabel(c)));
    field(dl, "session", session(c));
    field(dl, "started", c.started_at + " (" + offset(c.start_s) + ")" + (c.started_unseen ? ", seen first by its progress" : ""));
    field(dl, "ended", c.ended_at && c.ended_at + " (" + offset(c.end_s) + ")");
    field(dl, "took", dur(c.elapsed_s) + (c.status === "running" ? " so far" : ""));
    field(dl, "reported", c.reported_duration_s !== null ? dur(c.reported_duration_s) : null);
    field(dl, "progress", c.progress !== null ? num(c.progress) + (c.total !== null ? " of " + num(c.total) : "") : null);
    field(dl, "task", c.task);
    field(dl, "trace", c.trace_id);
    field(dl, "reported by", c.origin && { hook: "the agent's hooks", otel: "the agent's OpenTelemetry", model: "the agent's model turns" }[c.origin]);
    field(dl, "updates", c.updates);
    field(dl, "call id", c.id);
    body.append(dl);
    if (c.error) body.append(el("h4", null, "Error"), el("pre", "error", c.error));
    const about = doc.findings.filter((f) => f.call === id);
    if (about.length) {
      body.append(el("h4", null, "Findings"));
      const ul = el("ul", "findings");
      for (const f of about) ul.append(el("li", null, offset(f.first_s) + " " + f.message));
      body.append(ul);
    }
    if (c.arguments !== null) body.append(el("h4", null, "Arguments"), el("pre", "args", pretty(c.arguments)));
    if (c.result !== null) body.append(el("h4", null, "Result"), el("pre", "result", pretty(c.result)));
    if (c.progress_curve.length > 1) {
      body.append(el("h4", null, "Progress"), curve(c.progress_curve, c.total));
    }
    if (c.messages.length) {
      body.append(el("h4", null, "Messages"));
      const ol = el("ol", "messages");
      for (const m of c.messages) ol.append(el("li", null, el("span", "t", offset(m.at_s)), " " + m.text));
      body.append(ol);
    }
    detail.hidden = false;
    document.body.classList.add("with-detail");
    history.replaceState(null, "", "#call=" + id);
    if (scroll) {
      const i = shown.findIndex((s) => s.id === id);
      if (i < 0) { filterBox.value = ""; statusBox.value = ""; refilter(); }
      const j = shown.findIndex((s) => s.id === id);
      if (j >= 0) viewport.scrollTop = Math.max(0, j * ROW - viewport.clientHeight / 2);
    }
    render();
  }
  function closeDetail() {
    detail.hidden = true;
    document.body.classList.remove("with-detail");
    selected = null;
    history.replaceState(null, "", "#");
    render();
  }
  document.getElementById("close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => {
    if (e.target === filterBox) return;
    if (e.key === "Escape") closeDetail();
    else if ((e.key === "j" || e.key === "k") && shown.length) {
      const i = shown.findIndex((s) => s.id === selected);
      const j = i < 0 ? 0 : Math.min(Math.max(i + (e.key === "j" ? 1 : -1), 0), shown.length - 1);
      openCall(shown[j].id, true);
    }
  });

  refilter();
  const m = /^#call=(\d+)$/.exec(location.hash);
  if (m) openCall(Number(m[1]), true);
  document.documentElement.dataset.ready = "1";
  window.mcptopReport = { calls: calls.length, renderMs: performance.now() - t0 };
})();
