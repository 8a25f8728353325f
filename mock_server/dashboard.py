"""The instructor dashboard: one small page, served by the mock server, that reads the classroom API.

`GET /__admin/classroom/dashboard` is plain HTML with its style and script inline: no file,
font or library from anywhere else, and a Content-Security-Policy that lets the browser load
nothing else and talk only to this server. The page itself holds no data and needs no token;
it asks for the instructor token (or takes it from the address's fragment,
`.../dashboard#token=...`, which browsers never send to the server, so it reaches no log),
keeps it in the tab's sessionStorage, and sends it as `Authorization: Bearer` on every call:

- `GET learners` every 2 s: per learner, requests, status classes, 429s, errors, connections,
  last seen and lab results exercise by exercise;
- `GET|PUT|DELETE chaos`: the class-wide latency, jitter, failures and rate limit;
- `GET results.csv`: the lab results, downloaded.

Every address is relative to the page (`learners` is `/__admin/classroom/learners`), so the
page works unchanged behind a proxy that serves the server under a prefix (jupyter-server-proxy's
`/user/ada/proxy/8765/`).
"""

from __future__ import annotations

import base64
import hashlib
import json

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

PATH = "/__admin/classroom/dashboard"
# What the page calls, relative to PATH; tests/test_dashboard.py holds the script to these.
API = {"learners": "learners", "chaos": "chaos", "results": "results.csv"}
POLL_SECONDS = 2

STYLE = """
:root { --bad: #b3261e; --bad-bg: #fde7e4; --ok: #1e6b34; --warn: #8a5300; --warn-bg: #fff1d6;
  --line: #d6d6d6; --muted: #6b6b6b; --head: #f3f3f3; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 system-ui, sans-serif; color: #1b1b1b; background: #fff;
  height: 100vh; display: flex; flex-direction: column; }
main { flex: 1; min-height: 0; display: flex; flex-direction: column; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 8px 12px;
  border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; }
form { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: end; margin: 0; }
label { display: flex; flex-direction: column; font-size: 11px; color: var(--muted); }
label.inline { display: inline-flex; flex-direction: row; gap: 4px; margin-left: 16px; }
input { font: inherit; padding: 2px 4px; width: 7em; }
input.wide { width: 14em; }
button { font: inherit; padding: 3px 10px; cursor: pointer; }
#message { padding: 8px 12px; font-weight: 600; }
#message.bad { background: var(--bad-bg); color: var(--bad); }
#message.warn { background: var(--warn-bg); color: var(--warn); }
#message:empty { display: none; }
#weather { padding: 6px 12px; font-weight: 600; border-bottom: 1px solid var(--line); background: var(--warn-bg); }
#weather.calm { background: #eef8ef; }
#controls { padding: 6px 12px; border-bottom: 1px solid var(--line); }
#chaos-error { color: var(--bad); font-weight: 600; margin-left: 8px; }
#summary { padding: 4px 12px; color: var(--muted); }
.wrap { flex: 1; min-height: 0; overflow: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 6px; border-bottom: 1px solid #ececec; text-align: right; white-space: nowrap; }
th { position: sticky; top: 0; background: var(--head); border-bottom: 1px solid var(--line);
  cursor: pointer; user-select: none; font-size: 12px; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
td.name, th.name, td.labs, th.labs { text-align: left; }
td.name { font-weight: 600; }
tr.stuck td.name { color: var(--bad); box-shadow: inset 3px 0 var(--bad); }
tr.stuck td.failing { color: var(--bad); font-weight: 700; }
tbody tr:hover { background: #f6f6f6; }
tr.idle td { color: var(--muted); }
td.hot { color: var(--warn); font-weight: 700; }
tr.idle td.seen { color: var(--warn); font-weight: 700; }
td.zero { color: #b5b5b5; }
.lab { display: inline-block; margin-right: 10px; }
.lab b { font-weight: 600; margin-right: 2px; color: var(--muted); }
.ok { color: var(--ok); }
.no { color: var(--bad); font-weight: 700; }
[hidden] { display: none !important; }
"""

SCRIPT = """
"use strict";
const API = __API__;
const POLL_MS = __POLL_MS__;
const IDLE_SECONDS = 300;
const $ = (id) => document.getElementById(id);
let token = null, timer = null, generation = 0, learners = [], sort = {key: "failing", dir: -1}, formFilled = false;

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    sessionStorage.setItem("instructor-token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);  // off the address bar
  }
  token = sessionStorage.getItem("instructor-token");
}

function say(text, kind) {
  const box = $("message");
  box.textContent = text;
  box.className = kind || "";
}

async function call(path, options) {
  const init = Object.assign({cache: "no-store"}, options || {});
  init.headers = Object.assign({"Authorization": "Bearer " + token}, init.headers || {});
  const response = await fetch(path, init);
  if (response.status === 401 || response.status === 403) {
    throw {refused: true, detail: await reason(response)};
  }
  if (response.status === 404) throw {missing: true};
  if (!response.ok) throw {failed: true, detail: await reason(response)};
  return response;
}

async function reason(response) {
  try {
    const body = await response.json();
    return (body.error ? body.error + ": " : "") + (body.message || "");
  } catch (e) {
    return "HTTP " + response.status;
  }
}

function locked(text) {
  clearTimeout(timer);
  generation++;  // an answer still on its way is not shown
  token = null;
  sessionStorage.removeItem("instructor-token");
  learners = [];
  $("rows").replaceChildren();  // no data left on the page, shown or hidden
  $("summary-text").textContent = $("weather").textContent = $("updated").textContent = "";
  formFilled = false;
  $("board").hidden = true;
  $("login").hidden = false;
  say(text, "bad");
}

function trouble(error) {
  if (error.refused) {
    locked("The server refused this token (" + error.detail + "). No data is shown: enter the instructor " +
           "token the classroom server printed at start.");
  } else if (error.missing) {
    locked("This server is not in classroom mode, so there is no class to show: start it with " +
           "python -m mock_server --classroom.");
  } else if (error.failed) {
    say("The server answered with an error: " + error.detail, "bad");
  } else {
    say("Cannot reach the server; trying again every " + POLL_MS / 1000 + " s.", "warn");
  }
}

async function poll() {
  // One chain of polls at a time: a newer poll, or a lock, makes an older answer stale.
  clearTimeout(timer);
  if (!token) return;
  const mine = ++generation;
  if (document.hidden) return;  // nobody is looking: polled again when the tab is shown
  try {
    const [list, weather] = await Promise.all([call(API.learners), call(API.chaos)]);
    const listing = await list.json(), chaos = await weather.json();
    if (mine !== generation) return;
    learners = listing.learners;
    showWeather(chaos);
    $("login").hidden = true;
    $("board").hidden = false;
    say("");
    render();
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    if (mine !== generation) return;
    trouble(error);
    if (!token) return;
  }
  timer = setTimeout(poll, POLL_MS);
}

function number(value) {
  return Number.isFinite(value) ? String(+value.toFixed(3)) : "0";
}

function describeWeather(chaos) {
  const parts = [];
  if (chaos.latency) parts.push(number(chaos.latency) + " s latency");
  if (chaos.jitter) parts.push("up to " + number(chaos.jitter) + " s jitter");
  if (chaos.failure_rate) {
    parts.push(number(chaos.failure_rate * 100) + "% of requests fail with " + (chaos.failure_codes || []).join(" or "));
  }
  if (chaos.rate_limit) {
    parts.push("429 above " + chaos.rate_limit.limit + " requests per " + number(chaos.rate_limit.window) +
               " s per learner");
  }
  return parts;
}

function showWeather(chaos) {
  const parts = describeWeather(chaos);
  const banner = $("weather");
  banner.textContent = parts.length ? "The class is under: " + parts.join(", ") + "."
                                    : "The class is under: normal weather (no added latency, failures or rate limit).";
  banner.className = parts.length ? "" : "calm";
  if (!formFilled) fillForm(chaos);
}

function fillForm(chaos) {
  const form = $("chaos");
  form.latency.value = chaos.latency || 0;
  form.jitter.value = chaos.jitter || 0;
  form.failure_rate.value = +((chaos.failure_rate || 0) * 100).toFixed(3);
  form.failure_codes.value = (chaos.failure_codes || [500, 502, 503]).join(", ");
  form.rate_limit.value = chaos.rate_limit ? chaos.rate_limit.limit : "";
  form.rate_window.value = chaos.rate_limit ? chaos.rate_limit.window : 1;
  formFilled = true;
}

function wantedChaos() {
  const form = $("chaos");
  const codes = form.failure_codes.value.split(/[\\s,]+/).filter(Boolean).map(Number);
  const limit = form.rate_limit.value.trim();
  return {
    latency: Number(form.latency.value || 0),
    jitter: Number(form.jitter.value || 0),
    failure_rate: Number(form.failure_rate.value || 0) / 100,
    failure_codes: codes,
    rate_limit: limit ? {limit: Number(limit), window: Number(form.rate_window.value || 1)} : null,
  };
}

async function changeChaos(method) {
  $("chaos-error").textContent = "";
  try {
    const options = {method: method};
    if (method === "PUT") {
      options.headers = {"Content-Type": "application/json"};
      options.body = JSON.stringify(wantedChaos());
    }
    const chaos = await (await call(API.chaos, options)).json();
    formFilled = false;
    showWeather(chaos);
  } catch (error) {
    if (error.failed) $("chaos-error").textContent = "Not applied: " + error.detail;
    else trouble(error);
  }
}

async function download() {
  try {
    const blob = await (await call(API.results)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "lab-results.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    trouble(error);
  }
}

function exercises(learner) {
  const all = [];
  for (const lab of Object.keys(learner.labs || {}).sort()) {
    for (const [name, passed] of Object.entries(learner.labs[lab])) all.push(passed);
  }
  return all;
}

function derived(learner) {
  const results = exercises(learner);
  const s = learner.statuses || {};
  return Object.assign({}, learner, {
    s2: s["2xx"] || 0, s3: s["3xx"] || 0, s4: s["4xx"] || 0, s5: s["5xx"] || 0,
    passed: results.filter((x) => x).length,
    failing: results.filter((x) => !x).length,
    seen: learner.last_seen === null || learner.last_seen === undefined ? Infinity : learner.last_seen,
  });
}

function ago(seconds) {
  if (seconds === Infinity) return "never";
  if (seconds < 60) return Math.round(seconds) + " s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
  return Math.floor(seconds / 3600) + " h ago";
}

function cell(row, text, className, title) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (title) td.title = title;
  row.append(td);
  return td;
}

function count(row, value, hot, title) {
  cell(row, value, value === 0 ? "zero" : hot ? "hot" : "", title);
}

function labCell(row, learner) {
  const td = cell(row, "", "labs");
  for (const lab of Object.keys(learner.labs || {}).sort()) {
    const span = document.createElement("span");
    span.className = "lab";
    span.title = "lab " + lab;
    const label = document.createElement("b");
    label.textContent = lab;
    span.append(label);
    for (const [name, passed] of Object.entries(learner.labs[lab])) {
      const mark = document.createElement("span");
      mark.className = passed ? "ok" : "no";
      mark.textContent = passed ? "\\u2713" : "\\u2717";
      mark.title = "lab " + lab + ", " + name + (passed ? ": passes" : ": fails");
      span.append(mark);
    }
    span.title = "lab " + lab + ": " + Object.entries(learner.labs[lab])
      .map(([name, passed]) => name + (passed ? " \\u2713" : " \\u2717")).join(", ");
    td.append(span);
  }
  if (!td.childNodes.length) {
    td.textContent = "no results yet";
    td.classList.add("zero");
  }
}

function compare(a, b) {
  const x = a[sort.key], y = b[sort.key];
  const order = typeof x === "string" ? x.localeCompare(y) : (x === y ? 0 : x < y ? -1 : 1);
  return order * sort.dir || a.name.localeCompare(b.name);
}

function render() {
  const filter = $("filter").value.trim().toLowerCase();
  const rows = learners.map(derived);
  const shown = rows.filter((l) => l.name.includes(filter)).sort(compare);
  const body = document.createElement("tbody");
  body.id = "rows";
  for (const l of shown) {
    const row = document.createElement("tr");
    row.dataset.learner = l.name;
    if (l.failing) row.classList.add("stuck");
    if (l.seen > IDLE_SECONDS) row.classList.add("idle");
    cell(row, l.name, "name");
    count(row, l.requests);
    count(row, l.s2);
    count(row, l.s3);
    count(row, l.s4);
    count(row, l.s5);
    count(row, l.rate_limited, true, l.budget_refusals ? l.budget_refusals + " of them from the learner's own budget " +
          "(the server's --learner-rate or --learner-concurrency): a runaway loop?" : "");
    count(row, l.errors, true);
    count(row, l.connections, false, l.connections_open === undefined ? "" : l.connections_open + " open now");
    count(row, l.in_flight);
    cell(row, ago(l.seen), "seen");
    count(row, l.passed);
    cell(row, l.failing, l.failing ? "failing" : "zero");
    labCell(row, l);
    body.append(row);
  }
  $("rows").replaceWith(body);
  const stuck = rows.filter((l) => l.failing).length;
  const active = rows.filter((l) => l.seen <= 60).length;
  const throttled = rows.filter((l) => l.rate_limited).length;
  $("summary-text").textContent = rows.length + " learners \\u00b7 " + active + " active in the last minute \\u00b7 " +
    stuck + " with failing exercises \\u00b7 " + throttled + " throttled (429)" +
    (filter ? " \\u00b7 " + shown.length + " shown" : "");
  for (const th of document.querySelectorAll("th[data-key]")) {
    if (th.dataset.key === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if (!token) return;
  sessionStorage.setItem("instructor-token", token);
  say("Connecting\\u2026");
  poll();
});
$("logout").addEventListener("click", () => locked("Token forgotten: enter it again to see the class."));
$("chaos").addEventListener("submit", (event) => { event.preventDefault(); changeChaos("PUT"); });
$("clear").addEventListener("click", () => changeChaos("DELETE"));
$("download").addEventListener("click", download);
$("filter").addEventListener("input", render);
for (const th of document.querySelectorAll("th[data-key]")) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    sort = sort.key === key ? {key: key, dir: -sort.dir} : {key: key, dir: key === "name" ? 1 : -1};
    render();
  });
  th.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); th.click(); }
  });
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
window.addEventListener("hashchange", () => { takeToken(); if (token) poll(); });
takeToken();
if (token) poll();
else say("This page needs the instructor token (printed by python -m mock_server --classroom at start, " +
         "or the one given with --instructor-token or MOCK_SERVER_INSTRUCTOR_TOKEN). No data is shown without it.", "warn");
"""

# (sort key, heading, tooltip): the table's columns, in order.
COLUMNS = [
    ("name", "Learner", "the name the learner joined with"),
    ("requests", "Requests", "requests the server saw from this learner"),
    ("s2", "2xx", "successful answers"),
    ("s3", "3xx", "redirects"),
    ("s4", "4xx", "client errors, 429s included"),
    ("s5", "5xx", "server errors, simulated failures included"),
    ("rate_limited", "429", "answers 429 Too Many Requests (rate limits, the class-wide one included)"),
    ("errors", "Errors", "requests the learner's client gave up on (timeouts, dropped connections: 499)"),
    ("connections", "Conns", "TCP connections opened"),
    ("in_flight", "In flight", "requests being answered now"),
    ("seen", "Last seen", "time since the learner's last request"),
    ("passed", "Passed", "exercises whose last reported result passes"),
    ("failing", "Failing", "exercises whose last reported result fails: the learners who may be stuck"),
    ("labs", "Labs (exercise by exercise)", "each lab's exercises in order: \u2713 passes, \u2717 fails"),
]


def _head() -> str:
    cells = []
    for key, heading, tip in COLUMNS:
        css = f' class="{key}"' if key in ("name", "labs") else ""
        sortable = "" if key == "labs" else f' data-key="{key}" tabindex="0"'
        cells.append(f'<th{css}{sortable} title="{tip}">{heading}</th>')
    return "".join(cells)


BODY = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Classroom dashboard</title>
<link rel="icon" href="data:,">
<style>{STYLE}</style>
</head>
<body>
<header>
  <h1>Classroom dashboard</h1>
  <form id="login" autocomplete="off">
    <label>Instructor token<input id="token" class="wide" type="password" name="token" autocomplete="off"></label>
    <button type="submit">Show the class</button>
  </form>
  <span id="updated"></span>
</header>
<div id="message" role="status"></div>
<main id="board" hidden>
  <div id="weather" role="status"></div>
  <div id="controls">
    <form id="chaos">
      <label>Latency (s)<input name="latency" type="number" min="0" step="0.05"></label>
      <label>Jitter (s)<input name="jitter" type="number" min="0" step="0.05"></label>
      <label>Failure rate (%)<input name="failure_rate" type="number" min="0" max="100" step="0.5"></label>
      <label>Failure codes<input name="failure_codes" class="wide" type="text"></label>
      <label>Rate limit (requests; empty: none)<input name="rate_limit" type="number" min="1" step="1"></label>
      <label>per window (s)<input name="rate_window" type="number" min="0.1" step="0.1"></label>
      <button type="submit" id="apply">Apply to the class</button>
      <button type="button" id="clear">Clear</button>
      <button type="button" id="download">Lab results (CSV)</button>
      <button type="button" id="logout">Forget token</button>
      <span id="chaos-error" role="alert"></span>
    </form>
  </div>
  <div id="summary"><span id="summary-text"></span>
    <label class="inline">filter <input id="filter" type="search"></label></div>
  <div class="wrap">
    <table>
      <thead><tr>{_head()}</tr></thead>
      <tbody id="rows"></tbody>
    </table>
  </div>
</main>
<script>{{script}}</script>
</body>
</html>
"""


def _page() -> tuple[str, str]:
    """The page's HTML, and a Content-Security-Policy that allows its own inline script and nothing else."""
    script = SCRIPT.replace("__API__", json.dumps(API)).replace("__POLL_MS__", str(POLL_SECONDS * 1000))
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; "
        "img-src data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
    return BODY.replace("{script}", script), policy


PAGE, POLICY = _page()
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


async def dashboard_page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers=HEADERS)


def routes() -> list[BaseRoute]:
    return [Route(PATH, dashboard_page, include_in_schema=False)]
