//! `/dashboard/`: one self-contained HTML page (no external assets) showing routers, services
//! and servers with UP/DOWN and live request counts, refreshing itself every second from the
//! JSON API.
//!
//! Each service has a chart of requests per second to each of its servers over the last
//! minute, drawn by the page as inline SVG: at every refresh the page keeps each server's
//! request counter (`serverRequests`), and plots the differences between successive samples.
//! So the chart covers the time the page has been open: round robin shows lines that run
//! together, a sticky service one line per client's server.
//!
//! Stable ids and classes for browser tests: `#routers` rows `tr.router[data-name]`,
//! `#services` blocks `.service[data-name]` with rows `tr.server[data-url]` holding
//! `.server-status` (UP/DOWN), `.server-requests` and `.server-recent` (requests in the last
//! minute); the chart `svg.chart` has one `polyline.series[data-url]` per server, whose
//! `data-total` is that server's requests over the chart; `#issues` lists configuration
//! problems; `#updated` shows the last refresh.

use axum::response::Html;

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HTTP Infra Lab proxy</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: .8rem; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; font-size: .9rem; }
  th { background: #eee; }
  .UP, .enabled { color: #0a7d28; font-weight: bold; }
  .DOWN, .disabled { color: #b00020; font-weight: bold; }
  .warning { color: #b36b00; font-weight: bold; }
  .service { background: #fff; border: 1px solid #ddd; padding: .5rem .8rem; margin-bottom: .8rem; }
  .service h3 { margin: .2rem 0 .5rem; font-size: 1rem; }
  code { background: #f0f0f0; padding: 0 .2rem; }
  #issues li { color: #b00020; }
  #updated { color: #777; font-size: .8rem; }
  .chart { display: block; margin: .3rem 0 .6rem; background: #fcfcfc; border: 1px solid #eee; }
  .chart text { font-size: 10px; fill: #777; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .4rem; vertical-align: middle; }
</style>
</head>
<body>
<h1>HTTP Infra Lab proxy</h1>
<div id="updated">loading…</div>
<h2>Routers</h2>
<table id="routers"><thead><tr><th>Name</th><th>Rule</th><th>Service</th><th>Middlewares</th><th>Priority</th><th>Status</th></tr></thead><tbody></tbody></table>
<h2>Services</h2>
<div id="services"></div>
<h2>Configuration issues</h2>
<ul id="issues"></ul>
<script>
"use strict";
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}
function renderRouters(routers) {
  const body = document.querySelector("#routers tbody");
  body.replaceChildren();
  for (const r of routers) {
    const tr = el("tr", { "class": "router", "data-name": r.name });
    tr.append(el("td", { "class": "router-name" }, r.name), el("td", { "class": "router-rule" }, r.rule || ""),
      el("td", { "class": "router-service" }, r.service || ""),
      el("td", { "class": "router-middlewares" }, (r.middlewares || []).join(", ")),
      el("td", { "class": "router-priority" }, r.priority === undefined ? "" : String(r.priority)),
      el("td", { "class": "router-status " + r.status }, r.status + (r.error ? ": " + r.error.join("; ") : "")));
    body.append(tr);
  }
}
// Requests per server over the last minute. `samples` holds, per service, the servers'
// request counters at each refresh: [{ t: milliseconds, counts: { url: n } }], oldest first.
const WINDOW_MS = 60 * 1000;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const samples = new Map();
function remember(service, now) {
  const list = samples.get(service.name) || [];
  list.push({ t: now, counts: Object.assign({}, service.serverRequests || {}) });
  while (list.length > 2 && now - list[1].t > WINDOW_MS) list.shift();
  samples.set(service.name, list);
  return list;
}
// Each server's rate (requests per second) between successive samples: [{ t, rate }].
function rates(list, url) {
  const out = [];
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1], b = list[i];
    if (a.counts[url] === undefined || b.counts[url] === undefined) continue;
    const n = Math.max(0, b.counts[url] - a.counts[url]);
    out.push({ t: b.t, n: n, rate: n * 1000 / Math.max(1, b.t - a.t) });
  }
  return out;
}
const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function chart(list, urls, now) {
  const W = 480, H = 90, left = 34, top = 6, bottom = 14;
  const series = urls.map(u => rates(list, u));
  const max = Math.max(1, ...series.flat().map(p => p.rate));
  const x = t => left + (W - left) * (1 - (now - t) / WINDOW_MS);
  const y = r => top + (H - top - bottom) * (1 - r / max);
  const svg = svgEl("svg", { "class": "chart", width: W, height: H, viewBox: "0 0 " + W + " " + H,
    role: "img", "aria-label": "requests per second to each server over the last minute" });
  svg.append(svgEl("line", { x1: left, y1: y(0), x2: W, y2: y(0), stroke: "#ccc" }),
    svgEl("text", { x: 2, y: top + 8 }, (Math.round(max * 10) / 10) + "/s"),
    svgEl("text", { x: 2, y: y(0) }, "0"),
    svgEl("text", { x: left, y: H - 2 }, "1 min ago"),
    svgEl("text", { x: W - 24, y: H - 2 }, "now"));
  // Earlier lines are wider, so lines that run together (round robin) show as stripes.
  urls.forEach((u, i) => {
    const pts = series[i];
    const total = pts.reduce((a, p) => a + p.n, 0);
    svg.append(svgEl("polyline", { "class": "series", "data-url": u, "data-total": String(total),
      fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 1.5 + 2.5 * (urls.length - 1 - i),
      "stroke-linejoin": "round",
      points: pts.map(p => x(p.t).toFixed(1) + "," + y(p.rate).toFixed(1)).join(" ") }));
  });
  return svg;
}
function renderServices(services) {
  const root = document.getElementById("services");
  root.replaceChildren();
  const now = Date.now();
  for (const s of services) {
    const list = remember(s, now);
    const urls = ((s.loadBalancer || {}).servers || []).map(srv => srv.url);
    const box = el("div", { "class": "service", "data-name": s.name });
    const lb = s.loadBalancer || {};
    const sticky = lb.sticky && lb.sticky.cookie ? " · sticky cookie " + (lb.sticky.cookie.name || "(default name)") : " · round robin";
    box.append(el("h3", {}, s.name + sticky + " · "), el("span", { "class": "service-status " + s.status }, s.status));
    if (s.error) box.append(el("div", { "class": "service-error disabled" }, s.error.join("; ")));
    const t = el("table", { "class": "servers" });
    t.append(el("tr", {}, ""));
    t.firstChild.append(el("th", {}, "Server"), el("th", {}, "Status"), el("th", {}, "Requests"),
      el("th", {}, "Last minute"));
    (lb.servers || []).forEach((srv, i) => {
      const st = (s.serverStatus || {})[srv.url] || "";
      const n = (s.serverRequests || {})[srv.url];
      const recent = rates(list, srv.url).reduce((a, p) => a + p.n, 0);
      const tr = el("tr", { "class": "server", "data-url": srv.url });
      tr.append(el("td", { "class": "server-url" }, ""),
        el("td", {}, ""), el("td", { "class": "server-requests" }, n === undefined ? "" : String(n)),
        el("td", { "class": "server-recent" }, String(recent)));
      tr.children[0].append(el("span", { "class": "swatch", "style": "background:" + COLORS[i % COLORS.length] }),
        document.createTextNode(srv.url + (srv.name ? " (" + srv.name + ")" : "")));
      tr.children[1].append(el("span", { "class": "server-status " + st }, st));
      t.append(tr);
    });
    box.append(chart(list, urls, now), t);
    root.append(box);
  }
}
function renderIssues(issues) {
  const ul = document.getElementById("issues");
  ul.replaceChildren();
  if (!issues.length) { ul.append(el("li", { "class": "none", "style": "color:#0a7d28" }, "none")); return; }
  for (const i of issues) {
    const what = i.element ? i.element.kind + " " + (i.element.name || "") : "";
    ul.append(el("li", { "class": "issue" }, what + ": " + i.message));
  }
}
async function refresh() {
  try {
    const [routers, services, issues] = await Promise.all([
      getJson("/api/http/routers"), getJson("/api/http/services"), getJson("/api/issues")]);
    renderRouters(routers); renderServices(services); renderIssues(issues);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("updated").textContent = "cannot reach the API: " + e.message;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"##;
