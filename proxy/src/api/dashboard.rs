//! `/dashboard/`: one self-contained HTML page (no external assets) showing routers, services
//! and servers with UP/DOWN and live request counts, refreshing itself every second from the
//! JSON API. Stable ids and classes for browser tests: `#routers` rows `tr.router[data-name]`,
//! `#services` blocks `.service[data-name]` with rows `tr.server[data-url]` holding
//! `.server-status` (UP/DOWN) and `.server-requests`; `#issues` lists configuration problems;
//! `#updated` shows the last refresh.

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
function renderServices(services) {
  const root = document.getElementById("services");
  root.replaceChildren();
  for (const s of services) {
    const box = el("div", { "class": "service", "data-name": s.name });
    const lb = s.loadBalancer || {};
    const sticky = lb.sticky && lb.sticky.cookie ? " · sticky cookie " + (lb.sticky.cookie.name || "(default name)") : " · round robin";
    box.append(el("h3", {}, s.name + sticky + " · "), el("span", { "class": "service-status " + s.status }, s.status));
    if (s.error) box.append(el("div", { "class": "service-error disabled" }, s.error.join("; ")));
    const t = el("table", { "class": "servers" });
    t.append(el("tr", {}, ""));
    t.firstChild.append(el("th", {}, "Server"), el("th", {}, "Status"), el("th", {}, "Requests"));
    for (const srv of lb.servers || []) {
      const st = (s.serverStatus || {})[srv.url] || "";
      const n = (s.serverRequests || {})[srv.url];
      const tr = el("tr", { "class": "server", "data-url": srv.url });
      tr.append(el("td", { "class": "server-url" }, srv.url + (srv.name ? " (" + srv.name + ")" : "")),
        el("td", {}, ""), el("td", { "class": "server-requests" }, n === undefined ? "" : String(n)));
      tr.children[1].append(el("span", { "class": "server-status " + st }, st));
      t.append(tr);
    }
    box.append(t);
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
