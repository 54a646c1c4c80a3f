//! Speed and size of `orch mcp`: `next` + `done` round trips per second through the real
//! stdio server on a SQLite queue (goal: at least 500/s), spoken to as a client does
//! (JSON-RPC lines on its stdin and stdout); and the size of its `tools/list` in o200k
//! tokens (the gate's tokenizer) beside the published figures of two other task servers
//! for agents: Task Master (about 21,000 tokens for 36 tools) and beads (about 10,000).
//! The queue: `orch init` defaults but no QUEUE.md view (`queue.file = ""`, as the
//! `claim` bench) and `gate.compact_report = false`; its tasks added through the server's
//! `add` (not timed). `MCP_BENCH_N` round trips (default 1,000), after 50 of warm-up.
//! `cargo bench -p orch-queue --bench mcp` (release), or `cargo test -p orch-queue
//! --bench mcp --release` / without `--release` for a debug build.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

const WARM_UP: usize = 50;

struct Client {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: u64,
}

impl Client {
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}").expect("write");
        self.stdin.flush().expect("flush");
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).expect("read") > 0, "orch mcp ended");
            let v: Value = serde_json::from_str(&line).expect("JSON-RPC");
            if v["id"] == json!(self.id) {
                return v;
            }
        }
    }

    fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(r["result"]["isError"] != json!(true) && r.get("error").is_none(), "{tool}: {r}");
        r["result"].clone()
    }
}

fn main() {
    let n: usize = std::env::var("MCP_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let orch = env!("CARGO_BIN_EXE_orch");
    let init = Command::new(orch).arg("init").current_dir(dir.path()).output().expect("orch init");
    assert!(init.status.success(), "orch init: {init:?}");
    let conf = dir.path().join(".orch/orch.toml");
    let text = std::fs::read_to_string(&conf).expect("orch.toml");
    let text: Vec<String> = text
        .lines()
        .map(|l| match l {
            l if l.starts_with("compact_report =") => "compact_report = false".to_string(),
            l if l.starts_with("file = \"QUEUE.md\"") => "file = \"\"".to_string(),
            l => l.to_string(),
        })
        .collect();
    std::fs::write(&conf, text.join("\n") + "\n").expect("write orch.toml");

    let mut child = Command::new(orch)
        .args(["mcp", "--owner", "bench"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("orch mcp");
    let mut c = Client {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")),
        id: 0,
    };
    c.request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
    );
    writeln!(c.stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).expect("write");

    let tools = c.request("tools/list", json!({}));
    let count = tools["result"]["tools"].as_array().map_or(0, Vec::len);
    let tokens = tiktoken_rs::o200k_base_singleton().encode_ordinary(&tools["result"].to_string()).len();
    println!("mcp tools/list: {count} tools, {tokens} o200k tokens (Task Master ~21000 for 36 tools; beads ~10000)");

    for i in 0..n + WARM_UP {
        c.call("add", json!({"text": format!("bench task {i}")}));
    }
    let round = |c: &mut Client| {
        let r = c.call("next", json!({}));
        let id = r["structuredContent"]["id"].as_str().expect("a task").to_string();
        c.call("done", json!({"id": id, "report": "- done\n\nRisks: none"}));
    };
    for _ in 0..WARM_UP {
        round(&mut c);
    }
    let start = Instant::now();
    for _ in 0..n {
        round(&mut c);
    }
    let secs = start.elapsed().as_secs_f64();
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "mcp next+done ({profile}, SQLite, no view): {n} round trips in {secs:.2} s = {:.0}/s, {:.2} ms each (goal >= 500/s)",
        n as f64 / secs,
        secs * 1000.0 / n as f64
    );
    drop(c);
    let _ = child.wait();
}
