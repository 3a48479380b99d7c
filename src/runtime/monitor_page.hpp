#pragma once
// The monitor's page (GET /): one self-contained document, inline CSS and JS, no external
// scripts, fonts or images (the server's Content-Security-Policy forbids them). It listens to
// /events and draws the raster, the population rates and the astrocyte trace. For tests it
// keeps its counters in window.glia (drawn: spikes drawn so far, messages: messages received)
// and in the element #drawn.

#include <string_view>

namespace glia::runtime {

inline constexpr std::string_view monitor_page = R"glia(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>glia monitor</title>
<style>
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;background:#f6f7f9;color:#1c2430}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:1em;padding:.6em 1em;background:#1c2430;color:#fff}
header h1{font-size:1.2em;margin:0}
#state{padding:.1em .6em;border-radius:1em;background:#5a6473}
#state.running{background:#2e7d32}#state.complete{background:#1565c0}#state.interrupted,#state.disconnected{background:#c62828}
main{padding:1em;display:grid;gap:1em;grid-template-columns:1fr}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6em .8em}
.card h2{font-size:1em;margin:0 0 .4em 0}
canvas{width:100%;display:block;background:#fff}
#figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(11em,1fr));gap:.3em 1em}
#figures div span{font-variant-numeric:tabular-nums;font-weight:600}
#bar{height:6px;background:#e3e6ea;border-radius:3px;overflow:hidden;margin-top:.5em}
#bar div{height:100%;width:0;background:#2e7d32}
table{border-collapse:collapse}td,th{padding:.1em .8em .1em 0;text-align:left;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}
.muted{color:#6b7480}
pre{margin:0;white-space:pre-wrap}
[hidden]{display:none !important}
</style></head>
<body>
<header><h1>glia monitor</h1><span id="state">connecting</span><span id="clock"></span></header>
<main>
<section class="card"><div id="figures">
<div>simulated <span id="t">-</span></div><div>wall <span id="wall">-</span></div>
<div>ETA <span id="eta">-</span></div><div>steps/s <span id="sps">-</span></div>
<div>events/s <span id="eps">-</span></div><div>spikes <span id="spikes">-</span></div>
<div>spikes drawn <span id="drawn">0</span></div><div>messages <span id="messages">0</span></div>
</div><div id="bar"><div></div></div></section>
<section class="card"><h2>Raster <span class="muted" id="raster-note"></span></h2>
<canvas id="raster" width="1200" height="380"></canvas><div class="legend" id="legend"></div></section>
<section class="card"><h2>Population rates [Hz] <span class="muted" id="rate-note"></span></h2>
<canvas id="rates" width="1200" height="200"></canvas><table id="pops"></table></section>
<section class="card"><h2>Astrocytes</h2><p class="muted" id="astro-none">no astrocyte signal in this run</p>
<canvas id="astro" width="1200" height="160" hidden></canvas><div class="legend" id="astro-legend"></div></section>
<section class="card" id="reservoir-card" hidden><h2>Reservoir</h2><pre id="reservoir"></pre></section>
<section class="card"><h2>Stop the run</h2>
<form id="stop"><input id="token" type="password" size="36" placeholder="stop token (printed at start)" autocomplete="off">
<button type="submit">Stop</button> <span id="stop-result" class="muted"></span></form></section>
</main>
<script>
"use strict";
const G = window.glia = {drawn: 0, messages: 0, spikes: [], rates: [], astro: [], status: null};
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const $ = id => document.getElementById(id);
const fmt = (x, d) => x === null || x === undefined || !isFinite(x) ? "-" : Number(x).toFixed(d);
const big = x => x === null || x === undefined ? "-" : x >= 1e6 ? x.toExponential(3) : String(x);
function dur(s) {
  if (s === null || s === undefined || !isFinite(s)) return "-";
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60);
  return m < 60 ? m + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s"
                : Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m";
}
function setText(id, text) { $(id).textContent = text; }

function figures(s) {
  const st = $("state");
  st.textContent = s.stop_requested && s.status === "running" ? "stopping" : s.status;
  st.className = s.status;
  setText("t", fmt(s.t_ms, 1) + " / " + fmt(s.duration_ms, 1) + " ms");
  setText("wall", dur(s.wall_s));
  setText("eta", dur(s.eta_s));
  setText("sps", big(Math.round(s.steps_per_s)));
  setText("eps", s.events_per_s ? Number(s.events_per_s).toExponential(3) : "0");
  setText("spikes", big(s.spikes));
  $("bar").firstChild.style.width = (100 * s.progress).toFixed(2) + "%";
  setText("rate-note", "(over " + fmt(s.rate_window_ms[0], 0) + "-" + fmt(s.rate_window_ms[1], 0) + " ms)");
  const rows = s.populations.filter(p => p.recorded);
  G.shownText = rows.map(p => p.name + ": " + (p.raster_stride === 1 ? "every neuron" : "1 in " + p.raster_stride + " neurons")).join(", ");
  const legend = $("legend");
  if (legend.childElementCount !== s.populations.length) {
    legend.replaceChildren();
    s.populations.forEach((p, i) => {
      const span = document.createElement("span");
      const box = document.createElement("i");
      box.style.background = colors[i % colors.length];
      span.append(box, p.name + (p.recorded ? "" : " (spikes not recorded)"));
      legend.append(span);
    });
  }
  const table = $("pops");
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ["population", "model", "size", "spikes", "rate [Hz]"]) {
    const th = document.createElement("th"); th.textContent = h; head.append(th);
  }
  for (const p of s.populations) {
    const r = table.insertRow();
    for (const v of [p.name, p.model, p.size, big(p.spikes), fmt(p.rate_hz, 2)]) r.insertCell().textContent = v;
  }
  const res = s.reservoir;
  $("reservoir-card").hidden = res === null || res === undefined;
  if (!$("reservoir-card").hidden) setText("reservoir", JSON.stringify(res, null, 2));
}

function numbers(obj, prefix, out) {
  if (obj === null || typeof obj !== "object") return out;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === "number") out[prefix + k] = v;
    else if (typeof v === "object") numbers(v, prefix + k + ".", out);
  }
  return out;
}

function onMessage(m) {
  const s = m.status;
  G.status = s;
  G.messages++;
  if (m.snapshot) G.spikes = [];
  for (const sp of m.spikes) G.spikes.push(sp);
  // The raster's clock is that of the spikes (every spike before raster_to_ms has arrived),
  // which trails t_ms of the progress report by up to a batch of the run's output.
  let tmax = Math.max(m.raster_to_ms, G.tEnd || 0);
  for (const sp of m.spikes) if (sp[2] > tmax) tmax = sp[2];
  G.tEnd = tmax;
  // Keep the raster window, and nothing from before the point where the stream is complete
  // (a run faster than the page can be shown skips ahead rather than leaving gaps).
  const from = Math.max(tmax - s.raster_window_ms, m.raster_from_ms);
  G.from = from;
  let k = 0;
  while (k < G.spikes.length && G.spikes[k][2] < from) k++;
  if (k > 0) G.spikes.splice(0, k);
  const rates = {};
  s.populations.forEach((p, i) => { if (p.rate_hz !== null) rates[i] = p.rate_hz; });
  if (G.rates.length === 0 || G.rates[G.rates.length - 1].t !== s.rate_window_ms[1])
    G.rates.push({t: s.rate_window_ms[1], r: rates});
  if (G.rates.length > 1000) G.rates.shift();
  const a = numbers(s.astrocytes, "", {});
  if (Object.keys(a).length > 0) { G.astro.push({t: s.t_ms, v: a}); if (G.astro.length > 1000) G.astro.shift(); }
  figures(s);
  setText("messages", String(G.messages));
  draw(m.spikes.length);
}

function canvas(id) {
  const c = $(id);
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  return [c, ctx];
}

function axes(ctx, c, x0, x1, label) {
  ctx.fillStyle = "#6b7480";
  ctx.font = "12px sans-serif";
  ctx.fillText(fmt(x0, 0) + " ms", 4, c.height - 4);
  const t = fmt(x1, 0) + " ms" + (label ? "  " + label : "");
  ctx.fillText(t, c.width - ctx.measureText(t).width - 4, c.height - 4);
}

function draw(added) {
  const s = G.status;
  // Raster: one row per shown neuron, populations stacked.
  const [c, ctx] = canvas("raster");
  const plotH = c.height - 18;
  const offsets = [];
  let rows = 0;
  for (const p of s.populations) { offsets.push(rows); rows += p.raster_rows; }
  // The last raster_window_ms, or less when the run outpaces the page (see onMessage).
  const t1 = Math.max(G.tEnd || 0, s.raster_window_ms);
  const t0 = Math.min(Math.max(t1 - s.raster_window_ms, G.from || 0), t1 - 1), W = t1 - t0;
  const rh = rows > 0 ? plotH / rows : 1;
  const h = Math.max(1, rh);
  for (const sp of G.spikes) {
    const p = s.populations[sp[0]];
    if (!p) continue;
    ctx.fillStyle = colors[sp[0] % colors.length];
    const x = (sp[2] - t0) / W * (c.width - 2);
    const y = (offsets[sp[0]] + Math.floor(sp[1] / p.raster_stride)) * rh;
    ctx.fillRect(x, y, 2, h);
  }
  axes(ctx, c, t0, t1, "");
  setText("raster-note", "(the last " + fmt(W, 0) + " ms" +
    (W < s.raster_window_ms - 1 ? " of " + fmt(s.raster_window_ms, 0) + ": the run outpaces the page" : "") +
    "; " + G.shownText + ")");
  G.drawn += added;
  setText("drawn", String(G.drawn));

  // Rates over time.
  const [rc, rctx] = canvas("rates");
  if (G.rates.length > 0) {
    const ta = G.rates[0].t, tb = Math.max(G.rates[G.rates.length - 1].t, ta + 1);
    let rmax = 1;
    for (const e of G.rates) for (const v of Object.values(e.r)) rmax = Math.max(rmax, v);
    const ph = rc.height - 18;
    s.populations.forEach((p, i) => {
      rctx.strokeStyle = colors[i % colors.length];
      rctx.lineWidth = 1.5;
      rctx.beginPath();
      let started = false;
      for (const e of G.rates) {
        if (!(i in e.r)) continue;
        const x = (e.t - ta) / (tb - ta) * (rc.width - 2), y = ph - e.r[i] / rmax * (ph - 4);
        if (started) rctx.lineTo(x, y); else { rctx.moveTo(x, y); started = true; }
      }
      rctx.stroke();
    });
    axes(rctx, rc, ta, tb, "max " + rmax.toFixed(1) + " Hz");
  }

  // Astrocyte trace: every number in status.astrocytes, each scaled to its own range.
  const has = G.astro.length > 0;
  $("astro").hidden = !has;
  $("astro-none").hidden = has;
  if (has) {
    const [ac, actx] = canvas("astro");
    const keys = Object.keys(G.astro[G.astro.length - 1].v);
    const ta = G.astro[0].t, tb = Math.max(G.astro[G.astro.length - 1].t, ta + 1);
    const ph = ac.height - 18;
    const legend = $("astro-legend");
    legend.replaceChildren();
    keys.forEach((key, i) => {
      let lo = Infinity, hi = -Infinity;
      for (const e of G.astro) if (key in e.v) { lo = Math.min(lo, e.v[key]); hi = Math.max(hi, e.v[key]); }
      if (hi === lo) { hi = lo + 1; }
      actx.strokeStyle = colors[i % colors.length];
      actx.beginPath();
      let started = false;
      for (const e of G.astro) {
        if (!(key in e.v)) continue;
        const x = (e.t - ta) / (tb - ta) * (ac.width - 2), y = ph - (e.v[key] - lo) / (hi - lo) * (ph - 4);
        if (started) actx.lineTo(x, y); else { actx.moveTo(x, y); started = true; }
      }
      actx.stroke();
      const span = document.createElement("span");
      const box = document.createElement("i");
      box.style.background = colors[i % colors.length];
      span.append(box, key + " = " + G.astro[G.astro.length - 1].v[key].toPrecision(4) + " [" + lo.toPrecision(3) + ", " + hi.toPrecision(3) + "]");
      legend.append(span);
    });
    axes(actx, ac, ta, tb, "");
  }
}

let finished = false;
const events = new EventSource("/events");
events.onmessage = e => {
  const m = JSON.parse(e.data);
  onMessage(m);
  if (m.status.status === "complete" || m.status.status === "interrupted") { finished = true; events.close(); }
};
events.onerror = () => {
  if (!finished) { $("state").textContent = "disconnected"; $("state").className = "disconnected"; }
};
setInterval(() => setText("clock", new Date().toLocaleTimeString()), 1000);

$("stop").addEventListener("submit", ev => {
  ev.preventDefault();
  fetch("/stop", {method: "POST", headers: {"X-Glia-Token": $("token").value}})
    .then(r => r.text().then(t => setText("stop-result", r.status + " " + t)))
    .catch(err => setText("stop-result", String(err)));
});
</script>
</body></html>
)glia";

}  // namespace glia::runtime
