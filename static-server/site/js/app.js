// HTTP Infra Lab: the landing page's script. Plain JavaScript, no framework, no build step.
//
// 1. Polls the jokes API (/api/jokes/, through the proxy) every few seconds and shows which
//    API server answered, with a short history: round robin made visible.
// 2. The sticky check: requests each of the page's assets again and reads X-Served-By, to see
//    whether they all come from the server that sent the page (they should, with a sticky cookie).
// 3. Shows the request headers this page's server received (/whoami).
// The element ids used here are listed at the top of index.html.
'use strict';

const params = new URLSearchParams(location.search);
// The random joke: /api/jokes/ in the 2021 lab's routing. The 2023 edition routes /api to the
// API (/api/jokes is its CRUD collection), so the random joke is /api/ there: after a 404 on
// the default, the page tries that once, and keeps it if it answers.
let API = params.get('api') || '/api/jokes/';
let fallback = params.get('api') ? null : '/api/';
const EVERY_MS = Math.min(Math.max(Number(params.get('every')) || 3000, 500), 60000);
const HISTORY_LENGTH = 10;

const $ = (id) => document.getElementById(id);
const pageServer = $('served-by').textContent.trim();

/**
 * A colour for each server id, kept for the life of the page. Hues are handed out in order of
 * first appearance, each 137.5° (the golden angle) from the last, so even "dynamic1" and
 * "dynamic2" look clearly different.
 */
const hues = new Map();
function hueOf(id) {
  if (!hues.has(id)) hues.set(id, Math.round(220 + hues.size * 137.508) % 360);
  return hues.get(id);
}

function chip(id) {
  const el = document.createElement('code');
  el.className = 'chip';
  el.textContent = id;
  el.style.setProperty('--hue', hueOf(id));
  return el;
}

function paint(el, id) {
  el.textContent = id;
  el.style.setProperty('--hue', hueOf(id));
}

// 1. The jokes poller ----------------------------------------------------------------------

const seen = new Map(); // API server id -> answers
const order = []; // the servers of the last answers, oldest first
let running = true; // false while paused
let inFlight = false; // a request is on its way; it schedules the next one when it ends
let timer = null;

function setStatus(state, text) {
  const status = $('api-status');
  status.dataset.state = state;
  status.textContent = text;
}

async function pollJoke() {
  timer = null;
  inFlight = true;
  try {
    let url = jokeUrl(API);
    let response = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (response.status === 404 && fallback) {
      const other = jokeUrl(fallback);
      fallback = null;
      const second = await fetch(other, { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (second.ok && (second.headers.get('Content-Type') || '').includes('json')) {
        API = other.pathname;
        url = other;
        response = second;
      }
    }
    const servedBy = response.headers.get('X-Served-By');
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || !type.includes('json')) {
      throw new Error(explain(response.status, servedBy, url));
    }
    const body = await response.json();
    // Cross-origin without CORS exposing the header, fall back to the id in the JSON.
    showJoke(body.jokes[0], servedBy || body.server.id);
    if (running) setStatus('ok', `ok, every ${EVERY_MS / 1000} s`);
  } catch (error) {
    const message = error instanceof TypeError
      ? `cannot reach ${API} (${error.message}). Cross-origin? Start jokes-api with --cors-origin ${location.origin}`
      : error.message;
    if (running) setStatus('error', message);
    if (order.length === 0) {
      $('joke-setup').textContent = 'No joke yet: the jokes API did not answer.';
      $('joke-punchline').textContent = 'Why: see the red message above.';
    }
  } finally {
    inFlight = false;
    if (running) timer = setTimeout(pollJoke, EVERY_MS);
  }
}

function jokeUrl(path) {
  const url = new URL(path, location.href);
  url.searchParams.set('count', '1');
  return url;
}

function explain(status, servedBy, url) {
  const who = servedBy ? ` (from ${servedBy})` : '';
  if (status === 404 && url.origin === location.origin) {
    return `no jokes API at ${url.pathname}${who}: open this page through the proxy, ` +
      'or add ?api=http://localhost:3000/ to the address';
  }
  return `the API answered ${status}${who}`;
}

function showJoke(joke, server) {
  $('joke-setup').textContent = joke.setup;
  $('joke-punchline').textContent = joke.punchline;
  $('joke-id').textContent = joke.id;
  paint($('joke-server'), server);
  const figure = $('joke');
  figure.classList.remove('fresh');
  void figure.offsetWidth; // restart the animation
  figure.classList.add('fresh');

  const item = document.createElement('li');
  item.dataset.server = server;
  item.dataset.joke = joke.id;
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  const what = document.createElement('span');
  what.className = 'what';
  what.textContent = `#${joke.id} ${joke.setup}`;
  item.append(time, chip(server), what);
  const history = $('api-history');
  history.prepend(item);
  while (history.children.length > HISTORY_LENGTH) history.lastElementChild.remove();

  seen.set(server, (seen.get(server) || 0) + 1);
  order.push(server);
  if (order.length > 24) order.shift();
  drawServers();
  drawCycle();
}

function drawServers() {
  const list = $('api-servers');
  const most = Math.max(...seen.values());
  list.replaceChildren(...[...seen].map(([server, count]) => {
    const item = document.createElement('li');
    item.dataset.server = server;
    item.dataset.count = count;
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${(100 * count) / most}%`;
    fill.style.setProperty('--hue', hueOf(server));
    bar.append(fill);
    const number = document.createElement('span');
    number.className = 'count';
    number.textContent = count;
    item.append(chip(server), bar, number);
    return item;
  }));
}

/**
 * The shortest period p such that the recent answers repeat every p (each server once per
 * cycle), seen at least twice over; 0 if there is none yet. Round robin over N servers gives N.
 */
function cyclePeriod(servers) {
  for (let p = 1; 2 * p <= servers.length; p++) {
    const cycle = servers.slice(-p);
    if (new Set(cycle).size !== p) continue;
    const window = servers.slice(-2 * p);
    if (window.every((s, i) => s === cycle[i % p])) return p;
  }
  return 0;
}

function drawCycle() {
  const line = $('api-cycle');
  const p = cyclePeriod(order);
  line.dataset.period = p;
  if (p === 0) {
    line.textContent = 'No repeating cycle yet.';
    return;
  }
  const start = order.length - p;
  const parts = [document.createTextNode(p === 1 ? 'Always the same server: ' : `Cycle of ${p}: `)];
  order.slice(start).forEach((server, i) => {
    if (i > 0) parts.push(Object.assign(document.createElement('span'), { className: 'arrow', textContent: '→' }));
    parts.push(chip(server));
  });
  line.replaceChildren(...parts);
}

$('api-toggle').addEventListener('click', () => {
  running = !running;
  $('api-toggle').textContent = running ? 'Pause' : 'Resume';
  if (running) {
    if (!inFlight) pollJoke();
  } else {
    clearTimeout(timer);
    setStatus('paused', 'paused');
  }
});

// 2. The sticky check ----------------------------------------------------------------------

/** The page's own URL and every asset it loads, as same-origin paths, without duplicates. */
function assetUrls() {
  const urls = [location.pathname];
  const add = (value) => {
    if (!value) return;
    const url = new URL(value, location.href);
    if (url.origin === location.origin) urls.push(url.pathname);
  };
  document.querySelectorAll('link[rel~="stylesheet"], link[rel~="icon"]').forEach((l) => add(l.getAttribute('href')));
  document.querySelectorAll('script[src]').forEach((s) => add(s.getAttribute('src')));
  document.querySelectorAll('img[src]').forEach((i) => add(i.getAttribute('src')));
  document.querySelectorAll('use').forEach((u) => add((u.getAttribute('href') || '').split('#')[0]));
  return [...new Set(urls)];
}

async function checkAssets() {
  const verdict = $('sticky-verdict');
  verdict.dataset.state = 'pending';
  verdict.textContent = 'Checking…';
  const rows = await Promise.all(assetUrls().map(async (url) => {
    try {
      // HEAD: the headers are all we need. no-store: really ask a server, not the cache.
      const response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
      return { url, status: response.status, servedBy: response.headers.get('X-Served-By') || '?' };
    } catch (error) {
      return { url, status: 'failed', servedBy: '?' };
    }
  }));

  $('assets').replaceChildren(...rows.map(({ url, status, servedBy }) => {
    const row = document.createElement('tr');
    const match = servedBy === pageServer;
    Object.assign(row.dataset, { url, servedBy, status, match });
    const cells = [url, status, null, match ? '✓ yes' : '✗ no'].map((text) => {
      const cell = document.createElement('td');
      if (text !== null) cell.textContent = text;
      return cell;
    });
    cells[2].append(chip(servedBy));
    row.append(...cells);
    return row;
  }));

  const others = rows.filter((r) => r.servedBy !== pageServer);
  if (others.length === 0) {
    verdict.dataset.state = 'pass';
    verdict.textContent = `All ${rows.length} files came from ${pageServer}, the server that sent this page.`;
  } else {
    const names = [...new Set(others.map((r) => r.servedBy))].join(', ');
    verdict.dataset.state = 'fail';
    verdict.textContent = `${others.length} of ${rows.length} files came from another server (${names}): ` +
      'no sticky session, or the server changed (reload to be re-pinned).';
  }
}

$('sticky-recheck').addEventListener('click', checkAssets);

function showCookies() {
  $('sticky-cookie').textContent = document.cookie ||
    'none (no sticky session yet, or its cookie is HttpOnly: see the developer tools)';
}

// 3. What the server saw -------------------------------------------------------------------

const ADDED_BY_PROXIES = /^(x-forwarded-|x-real-ip|forwarded|via)/;

async function showWhoami() {
  const list = $('whoami');
  try {
    const response = await fetch('/whoami', { cache: 'no-store' });
    const info = await response.json();
    const entries = Object.entries(info.request.headers);
    entries.unshift(['(remote address)', [info.request.remote_addr || '?']]);
    entries.unshift(['(request line)', [`${info.request.method} ${info.request.path} ${info.request.version}`]]);
    list.replaceChildren(...entries.flatMap(([name, values]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      if (ADDED_BY_PROXIES.test(name)) dt.className = 'added';
      const dd = document.createElement('dd');
      dd.textContent = values.join(', ');
      return [dt, dd];
    }));
  } catch (error) {
    list.replaceChildren(Object.assign(document.createElement('dd'), { textContent: `/whoami failed: ${error.message}` }));
  }
}

// Start ------------------------------------------------------------------------------------

paint($('served-by'), pageServer);
pollJoke();
checkAssets();
showCookies();
showWhoami();
