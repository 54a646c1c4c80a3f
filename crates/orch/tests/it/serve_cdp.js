//! A small driver of headless Chromium through the DevTools protocol, for the browser
//! tests of `orch serve` (serve_clicks.rs). Node's built-ins only: Chromium is started
//! with `--remote-debugging-pipe` (it reads commands on fd 3 and writes answers on
//! fd 4, each a JSON message ended by a NUL byte), so no websocket client is needed.
//!
//! Usage: node serve_cdp.js CHROMIUM PROFILE_DIR. Then one JSON request a line on
//! stdin, one JSON answer a line on stdout:
//!   {"goto": URL}   -> {"ok": null}          navigates the page
//!   {"eval": JS}    -> {"ok": VALUE}          the value of the expression (promises awaited)
//!                   or {"error": TEXT}        an exception thrown by it
// A dialog the page opens (`prompt`, `confirm`) is accepted, a prompt answered with
// "from the page". Chromium ends when stdin ends.
"use strict";
const { spawn } = require("node:child_process");
const readline = require("node:readline");

const [bin, profile] = process.argv.slice(2);
const chrome = spawn(bin, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1000,1400",
  `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank",
], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
const toChrome = chrome.stdio[3];
const fromChrome = chrome.stdio[4];

let next = 1;
const waiting = new Map();
let session = null;

function send(method, params = {}, sessionId = session) {
  const id = next++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toChrome.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

let buffered = Buffer.alloc(0);
fromChrome.on("data", (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  let end;
  while ((end = buffered.indexOf(0)) >= 0) {
    const msg = JSON.parse(buffered.subarray(0, end).toString("utf8"));
    buffered = buffered.subarray(end + 1);
    if (msg.id && waiting.has(msg.id)) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`${msg.error.message} ${msg.error.data || ""}`));
      else w.resolve(msg.result);
    } else if (msg.method === "Page.javascriptDialogOpening") {
      send("Page.handleJavaScriptDialog", { accept: true, promptText: "from the page" }).catch(() => {});
    }
  }
});

const answer = (v) => process.stdout.write(JSON.stringify(v) + "\n");

async function handle(req) {
  if ("goto" in req) {
    await send("Page.navigate", { url: req.goto });
    return { ok: null };
  }
  const r = await send("Runtime.evaluate", { expression: req.eval, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) {
    const e = r.exceptionDetails;
    return { error: (e.exception && e.exception.description) || e.text };
  }
  return { ok: r.result.value === undefined ? null : r.result.value };
}

async function main() {
  const { targetInfos } = await send("Target.getTargets", {}, null);
  const page = targetInfos.find((t) => t.type === "page");
  const target = page ? page.targetId : (await send("Target.createTarget", { url: "about:blank" }, null)).targetId;
  session = (await send("Target.attachToTarget", { targetId: target, flatten: true }, null)).sessionId;
  await send("Page.enable");
  await send("Runtime.enable");
  answer({ ok: "ready" });
  const lines = readline.createInterface({ input: process.stdin });
  // One request at a time, in order.
  let chain = Promise.resolve();
  lines.on("line", (line) => {
    chain = chain.then(async () => {
      try { answer(await handle(JSON.parse(line))); } catch (e) { answer({ error: String(e.message || e) }); }
    });
  });
  lines.on("close", () => chain.then(() => { chrome.removeAllListeners("exit"); chrome.kill("SIGKILL"); process.exit(0); }));
}

chrome.on("exit", (code) => { answer({ error: `chromium ended (${code})` }); process.exit(1); });
main().catch((e) => { answer({ error: `start: ${e.message}` }); chrome.kill("SIGKILL"); process.exit(1); });
