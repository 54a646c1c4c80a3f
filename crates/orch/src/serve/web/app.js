// orch serve: the web dashboard. Signs in (a form's token, or the one-time code of the
// link `orch serve` prints, read from the URL's fragment, which no server logs), then
// reads the JSON API and redraws when the event stream says something changed. Text
// from tasks is only ever set with textContent: nothing here builds HTML from data.
"use strict";

const state = { csrf: null, filter: "", task: null, stream: null, fleet: null, timer: null, fleetAsked: 0 };
// The dispatchers listed at most; those stopped or unseen longer ago are left out.
const MAX_DISPATCHERS = 10;
const RECENT_S = 3600;
// The fleet is read again this often: a dispatcher's liveness changes without an event.
const FLEET_EVERY_MS = 5000;
const $ = (id) => document.getElementById(id);

// An element with attributes and children; strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const e = new Error(data && data.error ? data.error.message : r.statusText);
    e.status = r.status;
    throw e;
  }
  return data;
}

function say(text) {
  $("message").textContent = text || "";
}

function duration(secs) {
  if (secs === null || secs === undefined) return "-";
  const neg = secs < 0;
  let s = Math.floor(Math.abs(secs));
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const t = h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
  return neg ? `expired ${t} ago` : t;
}

// ---- sign-in -------------------------------------------------------------------------

async function signIn(body) {
  const r = await api("POST", "/session", body);
  state.csrf = r.csrf;
  start();
}

async function boot() {
  const m = location.hash.match(/^#code=([0-9a-f]+)$/);
  if (m) {
    history.replaceState(null, "", location.pathname);
    try { await signIn({ code: m[1] }); return; } catch (e) { $("signin-error").textContent = e.message; }
  }
  try {
    state.csrf = (await api("GET", "/session")).csrf;
    start();
  } catch (e) {
    showSignIn();
  }
}

function showSignIn() {
  $("app").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("live").textContent = "signed out";
}

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  try { await signIn({ token: $("token").value.trim() }); $("token").value = ""; }
  catch (e) { $("signin-error").textContent = e.message; }
});

$("signout").addEventListener("click", async () => {
  try { await api("DELETE", "/session"); } catch (e) { /* signed out either way */ }
  if (state.stream) state.stream.close();
  state.csrf = null;
  showSignIn();
});

// ---- the live view -------------------------------------------------------------------

function start() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
  window.addEventListener("hashchange", route);
  setInterval(tick, 1000);
  route();
  // The stream opens once the first view is drawn; what changed in between is read
  // again when it opens.
  setTimeout(openStream, 1500);
}

function openStream() {
  if (!state.csrf) return;
  const es = new EventSource("/api/v1/events");
  state.stream = es;
  es.onopen = () => { $("live").textContent = "live"; schedule(); };
  es.onmessage = () => schedule();
  es.onerror = () => { $("live").textContent = "reconnecting…"; };
}

function schedule() {
  if (state.timer) return;
  state.timer = setTimeout(() => { state.timer = null; refresh(); }, 150);
}

function route() {
  const m = location.hash.match(/^#task=(.+)$/);
  state.task = m ? decodeURIComponent(m[1]) : null;
  $("task-panel").hidden = !state.task;
  for (const id of ["fleet-panel", "counts-panel", "add-panel", "queue-panel", "alerts-panel"]) {
    $(id).hidden = !!state.task;
  }
  refresh();
}

async function refresh() {
  try {
    if (state.task) await drawTask(state.task);
    else await Promise.all([drawFleet(), drawQueue(), drawAlerts()]);
    document.body.dataset.ready = "1";
  } catch (e) {
    if (e.status === 401) { showSignIn(); return; }
    say(e.message);
  }
}

async function drawFleet() {
  state.fleetAsked = Date.now();
  const f = await api("GET", "/api/v1/workers");
  state.fleet = { at: Date.now(), workers: f.workers, dispatchers: f.dispatchers || [] };
  drawWorkers();
  const statuses = ["PENDING", "IN_PROGRESS", "FAILED", "BLOCKED", "DONE"];
  $("counts").tHead.replaceChildren(el("tr", {}, el("th", {}, "Priority"),
    ...statuses.map((s) => el("th", { class: "num" }, s))));
  fill($("counts").tBodies[0], ["P0", "P1", "P2"].map((p) => el("tr", {}, el("th", {}, p),
    ...statuses.map((s) => el("td", { class: "num" }, ((f.queue[p] || {})[s]) ?? 0)))));
}

function drawWorkers() {
  if (!state.fleet) return;
  const gone = (Date.now() - state.fleet.at) / 1000;
  const rows = state.fleet.workers.map((w) => el("tr", {},
    el("td", { class: "task" }, el("a", { href: `#task=${encodeURIComponent(w.task_id)}` }, w.task_id), " ", w.task),
    el("td", {}, w.owner),
    el("td", {}, duration(w.elapsed_s === null ? null : w.elapsed_s + gone)),
    el("td", {}, duration(w.lease_left_s === null ? null : w.lease_left_s - gone))));
  fill($("fleet").tBodies[0], rows.length ? rows : [el("tr", {}, el("td", { colspan: "4" }, "No task is running."))]);
  drawDispatchers(gone);
}

// The dispatchers alive (as the server lists them: by host, then start), then those
// stopped or unseen within the last hour, the latest first.
function recentDispatchers(ds) {
  const ended = ds.filter((d) => !d.alive && d.seen_age_s <= RECENT_S).sort((a, b) => a.seen_age_s - b.seen_age_s);
  return ds.filter((d) => d.alive).concat(ended);
}

// One line a dispatcher, `gone` seconds after the read; the state is a word.
function drawDispatchers(gone) {
  const shown = recentDispatchers(state.fleet.dispatchers);
  const line = (cls, text) => {
    const li = el("li", { class: cls });
    li.textContent = text;
    return li;
  };
  const items = shown.slice(0, MAX_DISPATCHERS).map((d) => {
    const age = duration(d.seen_age_s + gone);
    const [cls, said] = d.alive ? ["alive", `alive, seen ${age} ago`]
      : d.stopped_at ? ["stopped", "stopped"] : ["unseen", `not seen for ${age}`];
    return line(cls, `${d.host} pid ${d.pid}: ${said}`);
  });
  if (shown.length > MAX_DISPATCHERS) items.push(line("more", `… and ${shown.length - MAX_DISPATCHERS} more`));
  if (!items.length) items.push(line("none", "No dispatcher alive or stopped in the last hour."));
  $("dispatchers").replaceChildren(...items);
}

function tick() {
  if (state.task) return;
  if (state.csrf && !document.hidden && Date.now() - state.fleetAsked >= FLEET_EVERY_MS) {
    drawFleet().catch((e) => { if (e.status === 401) showSignIn(); });
  }
  drawWorkers();
}

function actions(t) {
  const out = [];
  const act = (label, fn) => out.push(el("button", { type: "button", onclick: fn }, label));
  if (["PENDING", "IN_PROGRESS", "FAILED"].includes(t.status)) {
    act("Cancel", () => change(t.id, "cancel", () => {
      const reason = prompt(`Cancel ${t.id}: why? (optional)`);
      return reason === null ? null : (reason.trim() ? { reason: reason.trim() } : {});
    }));
  }
  if (["FAILED", "BLOCKED"].includes(t.status)) act("Retry", () => change(t.id, "retry", () => ({})));
  if (t.status !== "DONE") {
    act("Replan", () => change(t.id, "replan", () => {
      const reason = prompt(`Replan ${t.id}: why?`);
      if (!reason || !reason.trim()) return null;
      const body = { reason: reason.trim() };
      const pr = prompt("New priority (P0, P1, P2; empty keeps it)", t.priority);
      if (pr && pr.trim() && pr.trim() !== t.priority) body.priority = pr.trim().toUpperCase();
      const text = prompt("New text (empty keeps it)", t.task);
      if (text && text.trim() && text !== t.task) body.task = text;
      return body;
    }));
  }
  return out;
}

async function change(id, what, ask) {
  const body = ask();
  if (body === null) return;
  try {
    const t = await api("POST", `/api/v1/tasks/${encodeURIComponent(id)}/${what}`, body);
    say(`${t.id}: ${what} done, now ${t.status}`);
    refresh();
  } catch (e) { say(e.message); }
}

async function drawQueue() {
  const q = state.filter ? `?status=${state.filter}&limit=500` : "?limit=500";
  const tasks = await api("GET", `/api/v1/tasks${q}`);
  const rows = tasks.map((t) => el("tr", { "data-id": t.id },
    el("td", {}, el("a", { href: `#task=${encodeURIComponent(t.id)}` }, t.id)),
    el("td", { class: `status-${t.status}` }, t.status),
    el("td", {}, t.priority),
    el("td", { class: "task" }, t.task),
    el("td", {}, ...actions(t))));
  fill($("queue").tBodies[0], rows.length ? rows : [el("tr", {}, el("td", { colspan: "5" }, "No tasks."))]);
}

async function drawAlerts() {
  const k = await api("GET", "/api/v1/kpi");
  const items = k.alerts.map((a) => el("li", {}, `${a.name}: ${a.value} (threshold ${a.threshold})`));
  $("alerts").replaceChildren(...(items.length ? items : [el("li", { class: "none" }, "none")]));
  $("alerts").classList.toggle("quiet", !items.length);
}

async function drawTask(id) {
  const path = `/api/v1/tasks/${encodeURIComponent(id)}`;
  const [t, runs, out] = await Promise.all([api("GET", path), api("GET", `${path}/log`), api("GET", `${path}/output?bytes=16384`)]);
  $("task-id").textContent = t.id;
  const fields = [["Task", t.task], ["Status", t.status], ["Priority", t.priority], ["Criteria", t.success_criteria],
    ["Owner", t.owner_session], ["Due", t.due_at], ["Attempts", `${t.attempts} of ${t.max_attempts}`],
    ["Notes", t.notes], ["Lease until", t.lease ? t.lease.expires_at : null],
    ["Tokens", `${t.input_tokens} in, ${t.output_tokens} out`], ["Cost", `$${t.cost_usd}`]];
  const w = t.workspace;
  if (w) {
    fields.push(["Branch", `${w.branch} (base ${w.base})`], ["Worktree", w.worktree + (w.worktree_exists ? "" : " (removed)")],
      ["Landing", w.landing + (w.landed_commit ? ` at ${w.landed_commit}` : "")]);
  }
  $("task-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "-")]));
  $("task-actions").replaceChildren(...actions(t));
  fill($("attempts").tBodies[0], runs.map((r) => el("tr", {},
    el("td", {}, r.attempt), el("td", {}, r.owner), el("td", {}, r.outcome ?? "running"),
    el("td", { class: "task" }, r.reason ?? "-"), el("td", {}, r.verdict ?? "-"))));
  const last = runs.filter((r) => r.report).pop();
  $("report").textContent = last ? last.report : "(no report)";
  $("output").textContent = (out.stdout || "") + (out.stderr ? `\n--- stderr ---\n${out.stderr}` : "") || "(no output)";
}

$("filter").addEventListener("change", () => { state.filter = $("filter").value; refresh(); });

$("add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { task: $("add-task").value, priority: $("add-priority").value };
  if ($("add-due").value.trim()) body.due = $("add-due").value.trim();
  try {
    const t = await api("POST", "/api/v1/tasks", body);
    say(`Added ${t.id}`);
    $("add-task").value = "";
    $("add-due").value = "";
    refresh();
  } catch (e) { say(e.message); }
});

boot();
