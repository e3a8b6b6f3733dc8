// The management page: renders /manage/api/state every second and posts actions with the
// session's CSRF token. Built with DOM calls and textContent only: no HTML from data.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const authed = csrf !== "";
let last = "";
let busy = false;

document.getElementById(authed ? "logged-in" : "login").hidden = false;
if (!authed) document.getElementById("read-only").hidden = false;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function button(label, action, url, data) {
  const b = el("button", { type: "button", class: action, disabled: busy, ...data }, label);
  b.setAttribute("data-action", action);
  b.addEventListener("click", () => act(url, b));
  return b;
}

function render(v) {
  const err = document.getElementById("error");
  err.hidden = !v.error;
  err.textContent = v.error ? "Docker engine: " + v.error : "";
  const root = document.getElementById("services");
  root.replaceChildren();
  if (v.services.length === 0 && !v.error) root.append(el("p", {}, "No compose service found."));
  for (const s of v.services) {
    const head = el("h2", {}, s.service, el("small", {}, `${s.project} · ${s.image} · ${s.nodes.length} node(s)`));
    if (authed) {
      head.append(button("Add a node", "add",
        `/manage/api/services/${encodeURIComponent(s.project)}/${encodeURIComponent(s.service)}/add`,
        { "data-service": s.key }));
    }
    const table = el("table", {},
      el("thead", {}, el("tr", {}, ...["#", "container", "state", "address", "proxy", "requests",
        "sticky clients", ""].map((h) => el("th", {}, h)))));
    const body = el("tbody");
    for (const n of s.nodes) {
      const acts = el("td");
      if (authed) {
        const base = `/manage/api/nodes/${encodeURIComponent(n.id)}/`;
        const data = { "data-name": n.name, "data-node": n.id };
        if (n.state === "running") acts.append(button("Stop", "stop", base + "stop", data));
        else acts.append(button("Start", "start", base + "start", data));
        acts.append(" ", button("Remove", "remove", base + "remove", data));
      }
      const row = el("tr", { "data-name": n.name, "data-proxy": n.proxy, "data-state": n.state },
        el("td", { class: "num" }, String(n.number)),
        el("td", {}, n.name, n.added ? el("span", { class: "added" }, " (added here)") : ""),
        el("td", { class: n.state, title: n.status }, n.state),
        el("td", {}, n.address || "–"),
        el("td", { title: n.proxy_services.join(", ") }, el("span", { class: "badge proxy " + n.proxy }, n.proxy)),
        el("td", { class: "num requests" }, String(n.requests)),
        el("td", { class: "num sticky" }, String(n.sticky_clients)),
        acts);
      body.append(row);
    }
    table.append(body);
    root.append(el("section", { "data-service": s.key }, head, table));
  }
}

async function refresh() {
  try {
    const r = await fetch("/manage/api/state", { cache: "no-store" });
    const text = await r.text();
    if (text !== last) {
      last = text;
      render(JSON.parse(text));
    }
  } catch (e) {
    const err = document.getElementById("error");
    err.hidden = false;
    err.textContent = "The proxy does not answer: " + e;
  }
}

async function act(url, b) {
  const msg = document.getElementById("message");
  busy = true;
  for (const x of document.querySelectorAll("button[data-action]")) x.disabled = true;
  msg.className = "";
  msg.textContent = b.textContent + "…";
  try {
    const r = await fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf } });
    const j = await r.json().catch(() => ({ message: r.status + " " + r.statusText }));
    msg.className = r.ok ? "done" : "failed";
    msg.textContent = j.message;
  } catch (e) {
    msg.className = "failed";
    msg.textContent = String(e);
  }
  busy = false;
  last = "";
  await refresh();
}

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/manage/logout", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  location.reload();
});

refresh();
setInterval(refresh, 1000);
