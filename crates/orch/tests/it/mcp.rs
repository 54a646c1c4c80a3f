//! `orch mcp`: the real binary as an MCP server, spoken to over its stdio as a client does
//! (JSON-RPC lines written by hand): the work loop through the gate, racing servers,
//! leases renewed while the session lives and given back when it ends, protocol errors,
//! and the size of `tools/list` in o200k tokens.

use super::common::{Project, wait_until};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long a reply may take before the test gives up (a guard, not a measure).
const REPLY_LIMIT: Duration = Duration::from_secs(60);

/// A client of one `orch mcp` child process.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: u64,
}

impl Client {
    /// Starts `orch mcp` in the project and initializes the session.
    pub fn start(p: &Project, owner: &str) -> Client {
        let mut child = p
            .command(&["mcp", "--owner", owner])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start orch mcp");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut c = Client { child, stdin, lines, next_id: 0 };
        let init = c.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "orch", "{init}");
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{msg}").expect("write to orch mcp");
        stdin.flush().expect("flush");
    }

    /// Sends a request and returns its response (the whole JSON-RPC message).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self.lines.recv_timeout(REPLY_LIMIT).expect("a reply from orch mcp");
            let msg: Value = serde_json::from_str(&line).expect("a JSON-RPC line");
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    /// `tools/call`: the response's result (or error) object.
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        if r.get("error").is_some() { r } else { r["result"].clone() }
    }

    /// Closes stdin (the client went away) and waits for the server to exit.
    pub fn close(mut self) -> i32 {
        drop(self.stdin.take());
        self.child.wait().expect("wait orch mcp").code().unwrap_or(-1)
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(r: &Value) -> String {
    r["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

fn is_error(r: &Value) -> bool {
    r["isError"] == json!(true)
}

const PASSING: &str = "- wrote it\n- tested it\n\nRisks: none";

#[test]
fn next_heartbeat_done_passes_the_gate() {
    let p = Project::init(None);
    p.ok(&["add", "Write the parser", "--criteria", "tests pass"]);
    let mut c = Client::start(&p, "agent-1");
    let r = c.call("next", json!({}));
    assert!(!is_error(&r), "{r}");
    assert!(text(&r).starts_with("ORCH-001 claimed"), "{r}");
    assert!(text(&r).contains("criteria: tests pass"), "{r}");
    let sc = &r["structuredContent"];
    assert_eq!(sc["status"], "IN_PROGRESS");
    let token = sc["lease"]["token"].as_str().expect("lease token").to_string();
    assert!(text(&r).contains(&token), "the text gives the lease token: {r}");

    let r = c.call("heartbeat", json!({"id": "ORCH-001"}));
    assert!(!is_error(&r) && text(&r).starts_with("ORCH-001 lease until"), "{r}");

    let r = c.call("done", json!({"id": "ORCH-001", "report": PASSING, "lease": token}));
    assert!(!is_error(&r), "{r}");
    assert_eq!(text(&r), "ORCH-001 DONE: the gate said PASS");
    assert_eq!(r["structuredContent"]["status"], "DONE");
    assert_eq!(r["structuredContent"]["verdict"], "PASS");

    let r = c.call("next", json!({}));
    assert!(is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["error"]["code"], "not_found");
    assert_eq!(r["structuredContent"]["error"]["exit"], 4);
    assert!(text(&r).contains("nothing to pick"), "{r}");
    assert_eq!(c.close(), 0);
}

#[test]
fn a_retry_from_the_gate_says_why_and_the_task_comes_back() {
    let p = Project::init(None);
    p.set_config("backoff", r#"["0s"]"#);
    p.ok(&["add", "Write the parser"]);
    let mut c = Client::start(&p, "agent-1");
    assert!(!is_error(&c.call("next", json!({}))));
    let r = c.call("done", json!({"id": "ORCH-001", "report": "- wrote it"}));
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains("the gate said RETRY (report_invalid: no Risks section"), "{r}");
    assert_eq!(r["structuredContent"]["verdict"], "RETRY");
    assert_eq!(r["structuredContent"]["status"], "FAILED");

    let r = c.call("next", json!({}));
    assert!(text(&r).starts_with("ORCH-001 claimed (attempt 2 of"), "{r}");
    assert!(text(&r).contains("no Risks section"), "the notes say why: {r}");
    let r = c.call("done", json!({"id": "orch-001", "report": PASSING}));
    assert_eq!(text(&r), "ORCH-001 DONE: the gate said PASS", "{r}");
}

#[test]
fn next_gives_the_reports_of_the_dependencies() {
    let p = Project::init(None);
    p.ok(&["add", "First"]);
    p.ok(&["add", "Second", "--depends-on", "ORCH-001"]);
    let mut c = Client::start(&p, "agent-1");
    c.call("next", json!({}));
    c.call("done", json!({"id": "ORCH-001", "report": "- made the schema\n\nRisks: none"}));
    let r = c.call("next", json!({}));
    assert!(text(&r).contains("depends on ORCH-001 DONE (First): - made the schema"), "{r}");
    assert_eq!(r["structuredContent"]["dependencies"][0]["id"], "ORCH-001");
}

#[test]
fn two_servers_racing_never_get_the_same_task() {
    let p = Project::init(Some(&super::common::queue_of(12)));
    let (mut a, mut b) = (Client::start(&p, "a"), Client::start(&p, "b"));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        for c in [&mut a, &mut b] {
            let r = c.call("next", json!({}));
            let id = r["structuredContent"]["id"].as_str().expect("a task").to_string();
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 12);
    assert!(is_error(&a.call("next", json!({}))));
}

#[test]
fn a_client_that_goes_away_gives_its_task_back() {
    let p = Project::init(None);
    p.ok(&["add", "Long work"]);
    let mut c = Client::start(&p, "agent-1");
    assert!(!is_error(&c.call("next", json!({}))));
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "IN_PROGRESS");
    assert_eq!(c.close(), 0);
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!(t["status"], "PENDING", "{t}");
    assert_eq!(t["attempts"], 0, "the attempt is not counted: {t}");
}

#[test]
fn a_server_stopped_by_sigterm_gives_its_task_back() {
    let p = Project::init(None);
    p.ok(&["add", "Long work"]);
    let mut c = Client::start(&p, "agent-1");
    assert!(!is_error(&c.call("next", json!({}))));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.pid()), nix::sys::signal::Signal::SIGTERM).expect("kill");
    assert!(wait_until(REPLY_LIMIT, || p.json(&["show", "ORCH-001"])["status"] == "PENDING"));
    assert_eq!(p.json(&["show", "ORCH-001"])["attempts"], 0);
}

#[test]
fn the_server_renews_the_lease_while_the_session_lives() {
    let p = Project::init(None);
    p.set_config("lease", r#""3s""#);
    p.ok(&["add", "Long work"]);
    let mut c = Client::start(&p, "agent-1");
    let r = c.call("next", json!({}));
    let first = r["structuredContent"]["lease"]["expires_at"].clone();
    let renewed = || p.json(&["show", "ORCH-001"])["lease"]["expires_at"] != first;
    assert!(wait_until(REPLY_LIMIT, renewed), "the lease was never renewed");
    // Past the first lease's end, the task is still this session's to finish.
    let r = c.call("done", json!({"id": "ORCH-001", "report": PASSING}));
    assert_eq!(text(&r), "ORCH-001 DONE: the gate said PASS", "{r}");
}

#[test]
fn unknown_tools_and_bad_arguments_are_protocol_errors_naming_them() {
    let p = Project::init(None);
    let mut c = Client::start(&p, "agent-1");
    let r = c.call("frobnicate", json!({}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("unknown tool `frobnicate`"), "{r}");
    let r = c.call("done", json!({"id": 5, "report": "x"}));
    assert_eq!(r["error"]["message"], "done: argument `id` must be string, not 5", "{r}");
    let r = c.call("done", json!({"id": "ORCH-001"}));
    assert_eq!(r["error"]["message"], "done: missing required argument `report`", "{r}");
    let r = c.call("list", json!({"colour": "red"}));
    assert!(r["error"]["message"].as_str().unwrap().contains("unknown argument `colour`"), "{r}");
    // A refusal of the API is a tool error with the command line's code and message.
    let r = c.call("show", json!({"id": "ORCH-099"}));
    assert!(is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["error"]["code"], "not_found", "{r}");
}

#[test]
fn done_with_a_stale_lease_is_refused() {
    let p = Project::init(None);
    p.ok(&["add", "Long work"]);
    let mut a = Client::start(&p, "a");
    let old = a.call("next", json!({}))["structuredContent"]["lease"]["token"].as_str().unwrap().to_string();
    a.close();
    let mut b = Client::start(&p, "b");
    assert!(!is_error(&b.call("next", json!({}))));
    let r = b.call("done", json!({"id": "ORCH-001", "report": PASSING, "lease": old}));
    assert!(is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["error"]["exit"], 5, "{r}");
    let (code, _, err) = p.run(&["done", "ORCH-001", "--lease", &old]);
    assert_eq!(code, 5);
    assert!(err.contains(r["structuredContent"]["error"]["message"].as_str().unwrap()), "{err} / {r}");
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "IN_PROGRESS");
}

#[test]
fn add_list_show_status() {
    let p = Project::init(None);
    let mut c = Client::start(&p, "agent-1");
    let r = c.call("add", json!({"text": "p0 fix login criteria:\"tests pass\"", "key": "k1"}));
    assert_eq!(text(&r), "added ORCH-001 PENDING P0: fix login", "{r}");
    let again = c.call("add", json!({"text": "p0 fix login", "key": "k1"}));
    assert_eq!(again["structuredContent"]["added"]["id"], "ORCH-001", "the key makes it once: {again}");
    for i in 0..4 {
        c.call("add", json!({"text": format!("task {i}")}));
    }
    let r = c.call("list", json!({"limit": 3}));
    assert_eq!(r["structuredContent"]["tasks"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["structuredContent"]["more"], true);
    assert!(text(&r).contains("first 3 shown"), "{r}");
    let r = c.call("list", json!({"status": "DONE"}));
    assert_eq!(text(&r), "no task");
    assert!(is_error(&c.call("list", json!({"limit": 1000}))));
    let r = c.call("show", json!({"id": "1"}));
    assert!(text(&r).contains("criteria: tests pass"), "{r}");
    let r = c.call("status", json!({}));
    assert!(text(&r).starts_with("5 tasks: PENDING 5; running: 0; next: ORCH-001"), "{r}");
}

#[test]
fn long_notes_are_trimmed_with_their_size() {
    let p = Project::init(None);
    p.ok(&["add", "Work"]);
    let long = "n".repeat(5000);
    p.ok(&["note", "ORCH-001", &long]);
    let mut c = Client::start(&p, "agent-1");
    let r = c.call("show", json!({"id": "ORCH-001"}));
    assert!(text(&r).contains("[trimmed: "), "{r}");
    assert!(r["structuredContent"]["notes"].as_str().unwrap().contains("[trimmed: "), "{r}");
    assert!(text(&r).len() < 2000);
}

/// Tokens of the whole `tools/list` result by the o200k BPE, the gate's tokenizer.
pub fn tools_list_tokens(c: &mut Client) -> usize {
    let r = c.request("tools/list", json!({}));
    let tools = r["result"]["tools"].as_array().expect("tools").clone();
    assert!(tools.len() <= 8, "at most 8 tools");
    tiktoken_rs::o200k_base_singleton().encode_ordinary(&r["result"].to_string()).len()
}

#[test]
fn tools_list_stays_within_1500_tokens() {
    let p = Project::init(None);
    let mut c = Client::start(&p, "agent-1");
    let n = tools_list_tokens(&mut c);
    assert!(n <= 1500, "tools/list is {n} o200k tokens");
}
