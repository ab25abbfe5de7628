/* GloMPO dashboard: the page's state, fed by /api/state and the /api/events stream. */
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
const MARKERS = {stopped: {symbol: "x", color: "#c77c02"},
                 converged: {symbol: "star", color: "#2a6fb0"},
                 crashed: {symbol: "x-thin-open", color: "#b3261e"}};
const MAX_POINTS = 4000;
const model = {version: 0, mode: "live", note: "", opts: {}, series: {}, markers: [], run: {},
               top: [], types: []};
let dirty = true, source = null;

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}
function fmt(v, digits = 6) {
  if (v === null || v === undefined) return "n/a";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en");
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4)
    : v.toPrecision(digits);
}
function duration(s) {
  if (s === null || s === undefined) return "n/a";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + sec + " s";
}
function typeColour(type) {
  let i = model.types.indexOf(type);
  if (i < 0) { model.types.push(type); i = model.types.length - 1; }
  return PALETTE[i % PALETTE.length];
}

function apply(delta) {
  if (delta.full) { model.series = {}; model.markers = []; }
  model.version = delta.version; model.mode = delta.mode; model.note = delta.note;
  for (const row of delta.optimizers) model.opts[row.id] = row;
  for (const [id, pts] of Object.entries(delta.points)) {
    const s = model.series[id] || (model.series[id] = {n: [], f: [], best: []});
    s.n.push(...pts.n); s.f.push(...pts.f); s.best.push(...pts.best);
    if (s.n.length > MAX_POINTS) {  // keep every other point: still spread over the run
      for (const k of ["n", "f", "best"]) s[k] = s[k].filter((_, i) => i % 2 === 0 ||
        i === s[k].length - 1);
    }
  }
  model.markers.push(...delta.markers);
  model.run = delta.run; model.top = delta.top;
  dirty = true;
}

function renderRun() {
  const r = model.run, b = r.best || {};
  const status = document.getElementById("status");
  const state = model.mode === "read-only" ? "read-only" : (r.status || "running");
  status.textContent = state; status.className = "badge " + (r.status || "");
  document.getElementById("note").textContent = model.note || "";
  const live = model.mode === "live" && r.status === "running";
  for (const b of document.querySelectorAll("button.control")) b.disabled = !live;
  const busy = r.workers_busy !== undefined && r.workers_busy !== null
    ? `${r.workers_busy} of ${fmt(r.max_jobs)}`
    : `${fmt(r.workers_held)} of ${fmt(r.max_jobs)} (held by running optimizers)`;
  const facts = [
    ["evaluations", fmt(Math.max(r.f_counter || 0, r.f_counter_manager || 0))],
    ["evaluations/s", fmt(r.evals_per_s, 3)],
    ["workers busy", busy],
    ["failed evaluations", fmt(r.failed_evaluations ?? r.failed)],
    ["optimizers", `${fmt(r.optimizers)} (${fmt(r.running)} running)`],
    ["best f", fmt(b.fx, 8)],
    ["best x", b.x ? "[" + b.x.map(v => fmt(v, 4)).join(", ") + "]" : "n/a"],
    ["found by", b.opt_id !== undefined ? `optimizer ${b.opt_id}, evaluation ${b.call_id}` : "n/a"],
    ["elapsed", r.elapsed_text || duration(r.elapsed)],
    ["remaining (est.)", r.status === "finished" ? "0 s" : duration(r.remaining)],
    ["CPU", r.cpu !== undefined ? fmt(r.cpu, 3) + " %" : "n/a"],
    ["memory", r.memory_mb !== undefined ? fmt(r.memory_mb, 4) + " MB" : "n/a"],
  ];
  if (r.reason) facts.push(["ended", r.reason]);
  document.getElementById("run-facts").innerHTML =
    facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd data-fact="${esc(k)}">${esc(v)}</dd>`).join("");
  const conds = r.exit_conditions || [];
  document.getElementById("exit-conditions").innerHTML = conds.map(c => {
    const p = c.progress;
    const bar = p === null || p === undefined ? "<em>progress n/a</em>"
      : `${(100 * p).toFixed(1)} %<div class="bar"><div style="width:${100 * p}%"></div></div>`;
    return `<li>${esc(c.name)}: ${bar}</li>`;
  }).join("") || "<li>n/a</li>";
}

function renderTable() {
  const rows = Object.values(model.opts).sort((a, b) => a.id - b.id);
  const live = model.mode === "live" && model.run.status === "running";
  document.getElementById("opt-count").textContent = `(${rows.length})`;
  document.querySelector("#opt-table tbody").innerHTML = rows.map(o => {
    const settings = JSON.stringify(o.settings);
    const stop = live && o.status === "running"
      ? `<button class="stop" data-opt-id="${o.id}" type="button">Stop</button>` : "";
    return `<tr data-opt-id="${o.id}" data-status="${esc(o.status)}">` +
      `<td class="num">${o.id}</td><td><span style="color:${typeColour(o.type)}">&#9632;</span> ` +
      `${esc(o.type)}</td><td class="settings" title="${esc(settings)}">${esc(settings)}</td>` +
      `<td><span class="badge ${esc(o.status)}">${esc(o.status)}</span></td>` +
      `<td class="num">${fmt(o.evaluations)}</td><td class="num">${fmt(o.best_f, 8)}</td>` +
      `<td class="reason" title="${esc(o.reason)}">${esc(o.reason)}</td><td>${stop}</td></tr>`;
  }).join("");
}

function renderTrajectories() {
  const which = document.querySelector("input[name=series]:checked").value;
  const logScale = document.getElementById("log-scale").checked;
  let lowest = Infinity;
  for (const s of Object.values(model.series))
    for (const v of s[which]) if (v !== null && v < lowest) lowest = v;
  const shift = logScale && lowest <= 0;  // log of f - min f + 1 when values are not > 0
  const y = v => v === null ? null : (shift ? v - lowest + 1 : v);
  const traces = [], shown = new Set();
  const ids = Object.keys(model.series).sort((a, b) => a - b);
  for (const id of ids) {
    const s = model.series[id], type = (model.opts[id] || {}).type || "?";
    traces.push({x: s.n, y: s[which].map(y), type: "scatter", mode: "lines",
      name: type, legendgroup: type, showlegend: !shown.has(type),
      line: {color: typeColour(type), width: 1.2}, opacity: 0.8,
      hovertemplate: `optimizer ${id} (${esc(type)})<br>evaluation %{x}<br>f %{y}<extra></extra>`});
    shown.add(type);
  }
  for (const [kind, style] of Object.entries(MARKERS)) {
    const ms = model.markers.filter(m => m.kind === kind && m.f !== null);
    if (!ms.length) continue;
    traces.push({x: ms.map(m => m.call_id), y: ms.map(m => y(m.f)), type: "scatter",
      mode: "markers", name: kind, marker: {symbol: style.symbol, color: style.color, size: 9},
      text: ms.map(m => `optimizer ${m.opt_id} ${kind}: ${m.text}`), hoverinfo: "text"});
  }
  const shapes = model.markers.filter(m => m.kind === "checkpoint").map(m => ({
    type: "line", xref: "x", yref: "paper", x0: m.call_id, x1: m.call_id, y0: 0, y1: 1,
    line: {color: "#888", dash: "dot", width: 1}}));
  const layout = {margin: {l: 60, r: 10, t: 10, b: 40}, uirevision: "keep",
    xaxis: {title: {text: "evaluation"}},
    yaxis: {title: {text: shift ? "f − min f + 1" : "f"}, type: logScale ? "log" : "linear"},
    legend: {title: {text: "type"}}, shapes};
  Plotly.react("plot-trajectories", traces, layout, {displaylogo: false, responsive: true});
}

function renderParcoords() {
  const top = model.top;
  document.getElementById("top-n").textContent = top.length;
  if (!top.length) { Plotly.purge("plot-parcoords"); return; }
  const n = Math.min(top[0].x.length, 24);
  const dims = [];
  for (let j = 0; j < n; j++) dims.push({label: `x${j}`, values: top.map(t => t.x[j])});
  dims.push({label: "f", values: top.map(t => t.fx)});
  Plotly.react("plot-parcoords", [{type: "parcoords", dimensions: dims,
    line: {color: top.map(t => t.fx), colorscale: "Viridis", showscale: true}}],
    {margin: {l: 50, r: 60, t: 60, b: 20}}, {displaylogo: false, responsive: true});
}

function render() {
  if (!dirty) return;
  dirty = false;
  renderRun(); renderTable(); renderTrajectories(); renderParcoords();
  document.body.dataset.version = model.version;
}

async function post(path, what) {
  const msg = document.getElementById("message");
  try {
    const res = await fetch(path, {method: "POST", headers: {"X-GloMPO-Token": TOKEN}});
    const body = await res.json();
    msg.textContent = res.ok ? `${what}: requested` : `${what}: ${body.error}`;
  } catch (err) {
    msg.textContent = `${what}: ${err}`;
  }
}

document.addEventListener("click", ev => {
  const t = ev.target;
  if (t.matches("button.stop") && confirm(`Stop optimizer ${t.dataset.optId}?`)) {
    t.disabled = true;
    post(`/api/stop/${t.dataset.optId}`, `stop optimizer ${t.dataset.optId}`);
  } else if (t.id === "btn-checkpoint") {
    post("/api/checkpoint", "checkpoint");
  } else if (t.id === "btn-end" && confirm("End the run (a checkpoint first if it has checkpointing)?")) {
    post("/api/end", "end of the run");
  }
});
for (const el of document.querySelectorAll("input[name=series], #log-scale"))
  el.addEventListener("change", () => { dirty = true; render(); });

function listen() {
  source = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}&since=${model.version}`);
  source.onmessage = ev => apply(JSON.parse(ev.data));
  source.addEventListener("closed", () => {  // the server stopped: the run is over
    source.close();
    if (model.run.status !== "finished") { model.run.status = "finished"; dirty = true; }
  });
  source.onerror = () => {
    if (model.run.status === "finished") { source.close(); return; }
    document.getElementById("status").textContent = "reconnecting";
  };
}

async function start() {
  const res = await fetch(`/api/state?token=${encodeURIComponent(TOKEN)}`);
  if (!res.ok) {
    document.getElementById("message").textContent = (await res.json()).error;
    document.getElementById("status").textContent = "refused";
    return;
  }
  apply(await res.json());
  render();
  if (model.mode === "live" && model.run.status !== "finished") listen();
  setInterval(render, 1000);
}
start();
