//! Codex's `codex exec --json` output: one JSON event per line (JSONL). A stdout whose
//! first line is a `thread.started` event is read as such a stream (`outcome`'s reader
//! does it): the thread id is the run's session, the last `agent_message` item is the
//! report, each `turn.completed` adds its usage, and a `turn.failed` is a transient
//! failure with Codex's message. Every other event (reasoning, commands, file changes,
//! `error` notices Codex may recover from) is left out of the report.

use serde::Deserialize;

/// What one line of the stream says, as far as orch reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `thread.started`: the thread id, which `codex exec resume` takes.
    Thread(String),
    /// A completed `agent_message` item: the agent's text.
    Message(String),
    /// `turn.completed`: the turn's token usage (its cached input tokens are counted
    /// among its input tokens already).
    Usage { input_tokens: u64, output_tokens: u64 },
    /// `turn.failed`: why.
    Failed(String),
    /// Any other event.
    Other,
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    thread_id: Option<String>,
    item: Option<Item>,
    usage: Option<TurnUsage>,
    error: Option<Error>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct TurnUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

#[derive(Deserialize)]
struct Error {
    message: Option<String>,
}

/// The event a line holds; `None` when it is not a JSON object with a `type`.
pub fn event(line: &str) -> Option<Event> {
    let t = line.trim();
    if !t.starts_with('{') {
        return None;
    }
    let l: Line = serde_json::from_str(t).ok()?;
    Some(match l.kind.as_str() {
        "thread.started" => l.thread_id.filter(|s| !s.is_empty()).map_or(Event::Other, Event::Thread),
        "item.completed" => match l.item {
            Some(Item { kind: Some(k), text: Some(text) }) if k == "agent_message" => Event::Message(text),
            _ => Event::Other,
        },
        "turn.completed" => l
            .usage
            .map_or(Event::Other, |u| Event::Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens }),
        "turn.failed" => Event::Failed(l.error.and_then(|e| e.message).unwrap_or_else(|| "turn failed".into())),
        _ => Event::Other,
    })
}

/// Whether `line` opens a Codex stream (a `thread.started` event).
pub fn opens_stream(line: &str) -> bool {
    line.trim_start().starts_with('{') && matches!(event(line), Some(Event::Thread(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_orch_reads() {
        let thread = r#"{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}"#;
        assert_eq!(event(thread), Some(Event::Thread("0199a213-81c0-7800-8aa1-bbab2a035a53".into())));
        assert!(opens_stream(thread) && !opens_stream(r#"{"type":"turn.started"}"#) && !opens_stream("- a"));
        let msg =
            r#"{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"- done\nRisks: none"}}"#;
        assert_eq!(event(msg), Some(Event::Message("- done\nRisks: none".into())));
        let reasoning = r#"{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"thinking"}}"#;
        assert_eq!(event(reasoning), Some(Event::Other));
        let turn = r#"{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}"#;
        assert_eq!(event(turn), Some(Event::Usage { input_tokens: 24763, output_tokens: 122 }));
        let failed = r#"{"type":"turn.failed","error":{"message":"stream disconnected"}}"#;
        assert_eq!(event(failed), Some(Event::Failed("stream disconnected".into())));
        assert_eq!(event(r#"{"type":"error","message":"Reconnecting... 1/5"}"#), Some(Event::Other));
        assert_eq!(event("not json"), None);
        assert_eq!(event(r#"{"no_type":1}"#), None);
        assert_eq!(event(r#"["type"]"#), None);
    }
}
