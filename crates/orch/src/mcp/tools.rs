//! The tools `orch mcp` lists — eight, with short descriptions and small hand-written
//! schemas (the whole `tools/list` is held under 1,500 o200k tokens by a test) — and the
//! check of a call's arguments against them, naming the argument that is wrong.

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};
use std::sync::Arc;

/// One argument: its name, JSON type, whether it is required, and what it is.
type Arg = (&'static str, &'static str, bool, &'static str);

const ID: Arg = ("id", "string", true, "Task id, e.g. ORCH-004");
const LEASE: Arg = ("lease", "string", false, "Lease token (default: the one this session holds)");

/// Every tool: name, description, arguments.
pub const TOOLS: &[(&str, &str, &[Arg])] = &[
    (
        "next",
        "Claim the next eligible task: its text, criteria, dependencies' reports and lease token. \
         The server renews the lease until done/fail, and gives it back if the session ends first.",
        &[],
    ),
    ("heartbeat", "Renew a task's lease now (the server already does it).", &[ID, LEASE]),
    (
        "done",
        "Finish a task with its report; the gate judges it: PASS (DONE), RETRY or BLOCK with the reason.",
        &[ID, ("report", "string", true, "Report: at most 8 bullets and a Risks section"), LEASE],
    ),
    (
        "fail",
        "Fail a task: transient (retried later) unless permanent.",
        &[ID, ("reason", "string", true, "What went wrong"), ("permanent", "boolean", false, "No retry"), LEASE],
    ),
    (
        "add",
        "Add a task from one line: `p0 fix login due:+3h criteria:\"tests pass\" #db`.",
        &[("text", "string", true, "The line"), ("key", "string", false, "Idempotency key")],
    ),
    ("show", "One task in full.", &[ID]),
    (
        "list",
        "List tasks, oldest first.",
        &[
            ("status", "string", false, "Comma list, e.g. PENDING,FAILED"),
            ("limit", "integer", false, "At most this many (default 20, max 100)"),
        ],
    ),
    ("status", "Counts by status, or one task (or team) by id.", &[("id", "string", false, "Task id")]),
];

/// The tools as `tools/list` gives them.
pub fn list() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|(name, description, args)| {
            let mut props = serde_json::Map::new();
            let mut required = Vec::new();
            for (arg, ty, req, what) in args.iter() {
                props.insert((*arg).to_string(), json!({"type": ty, "description": what}));
                if *req {
                    required.push(json!(arg));
                }
            }
            let mut schema = JsonObject::new();
            schema.insert("type".into(), json!("object"));
            schema.insert("properties".into(), Value::Object(props));
            if !required.is_empty() {
                schema.insert("required".into(), Value::Array(required));
            }
            schema.insert("additionalProperties".into(), json!(false));
            Tool::new(*name, *description, Arc::new(schema))
        })
        .collect()
}

/// The arguments of a call to `tool`, checked: every required one given, none unknown,
/// each of its type. `Err` is the message naming the argument (or the unknown tool).
pub fn check(tool: &str, args: &JsonObject) -> Result<(), String> {
    let Some((_, _, spec)) = TOOLS.iter().find(|(n, _, _)| *n == tool) else {
        let names: Vec<&str> = TOOLS.iter().map(|t| t.0).collect();
        return Err(format!("unknown tool `{tool}` (tools: {})", names.join(", ")));
    };
    for (name, value) in args {
        let Some((_, ty, _, _)) = spec.iter().find(|a| a.0 == name) else {
            let known: Vec<&str> = spec.iter().map(|a| a.0).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(format!("{tool}: unknown argument `{name}` (arguments: {known})"));
        };
        let fits = match *ty {
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_u64(),
            _ => true,
        };
        if !fits && !value.is_null() {
            let ty = if *ty == "integer" { "a non-negative integer" } else { ty };
            return Err(format!("{tool}: argument `{name}` must be {ty}, not {value}"));
        }
    }
    for (name, _, req, _) in spec.iter() {
        if *req && args.get(*name).is_none_or(Value::is_null) {
            return Err(format!("{tool}: missing required argument `{name}`"));
        }
    }
    Ok(())
}
