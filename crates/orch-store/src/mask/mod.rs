//! Masking secrets (`[events] mask` in orch.toml): API keys, tokens and passwords that
//! end up in a failure reason, a report or a note are replaced by `[masked]` before they
//! are stored — the `msg` of every event, a run's reason, report, late report and verdict
//! reason, and a task's notes (where `fail --reason`, `cancel --reason`, `replan
//! --reason`, `note` and `done --notes` go) — so neither the database, nor
//! `.orch/events.jsonl`, nor QUEUE.md holds them; and again in what `events` and `log`
//! print (which also covers what was stored before a pattern was added). A task's text
//! and criteria are never masked: they are the instructions a worker is given, and a
//! masked instruction would run a different task. The worker's raw output files
//! (`.orch/runs/RUN_ID/stdout.log`, `stderr.log`, private to the user) are kept as the
//! worker wrote them. docs/EVENTS.md lists every field.
//!
//! The patterns are regular expressions (the `regex` crate: linear time, no
//! backtracking, so a pattern cannot stall a writer; the crate is already built for the
//! tokenizer, so it costs no build time). They are joined into one alternation, compiled
//! when the config is read (the built-in list, which a test compiles, when a first text
//! is masked, so a command that masks nothing does not pay for it), and run once per
//! text. Masking fails closed: a pattern that
//! does not parse, that is empty or matches the empty text, or that does not compile
//! (over the `regex` crate's size limit, alone or joined with the others) is a config
//! error naming it, so no [`Mask`] exists that could not mask.
//!
//! Every write goes through [`Masked`] (`tx.rs`), a [`crate::Backend`] wrapper whose
//! transactions — read ones too, so a write there cannot slip past — hand the caller a
//! [`MaskTx`]: the few primitives that store history text or a task mask
//! it, every other one is forwarded unchanged. One place, so no writer — an operation,
//! the importer, the dispatcher, the gate — can forget it. (Masking at each write point
//! instead would spread it over modules that should not know about it.)

use orch_core::event::Event;
use orch_core::task::Task;
use regex::Regex;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

mod tx;
pub use tx::{MaskTx, Masked, wrap};

/// The patterns a new queue masks (`orch init` writes them into orch.toml): API keys,
/// tokens and passwords in the forms they are most often seen.
pub const BUILT_IN: &[&str] = &[
    r"sk-[A-Za-z0-9_-]{16,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"AKIA[0-9A-Z]{16}",
    r"xox[abprs]-[A-Za-z0-9-]{10,}",
    r"(?i:bearer)[ \t]+[A-Za-z0-9._~+/=-]+",
    r"(?i:password|passwd|secret)=[^ \t\r\n]+",
];

/// What a secret is replaced with.
pub const REPLACEMENT: &str = "[masked]";

/// The patterns, compiled; empty masks nothing.
#[derive(Clone, Debug, Default)]
pub struct Mask {
    re: Option<Arc<Compiled>>,
}

/// The joined patterns and, once compiled, their expression. A list other than the
/// built-in one is compiled when the mask is made (that is its check); the built-in
/// one, which a test compiles, when a first text is masked, so a command that masks
/// nothing does not pay for it.
#[derive(Debug)]
struct Compiled {
    joined: String,
    re: OnceLock<Regex>,
}

impl Compiled {
    fn get(&self) -> &Regex {
        // Only the built-in list is left to compile here, and a test compiles it: it
        // cannot fail, and were it to, masking must not go on unmasked.
        self.re.get_or_init(|| Regex::new(&self.joined).expect("the built-in mask patterns compile"))
    }
}

impl Mask {
    /// Compiles `patterns`; a bad one is named in the error.
    ///
    /// One regular expression is compiled per process for a given list: each pattern
    /// is parsed alone (the syntax check that names a bad one; joined, a pattern such
    /// as `a)|(b` would hide its own error), the alternation of all of them is compiled
    /// once, and the result is kept, so the config's check and the queue's own mask
    /// (every command opens both) share one compilation.
    pub fn new(patterns: &[String]) -> std::result::Result<Mask, String> {
        static LAST: Mutex<Option<(Vec<String>, Mask)>> = Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, mask)) = last.as_ref()
            && seen.as_slice() == patterns
        {
            return Ok(mask.clone());
        }
        let mask = Mask::compile(patterns)?;
        *last = Some((patterns.to_vec(), mask.clone()));
        Ok(mask)
    }

    fn compile(patterns: &[String]) -> std::result::Result<Mask, String> {
        for (i, p) in patterns.iter().enumerate() {
            if p.is_empty() {
                return Err(format!("pattern {} is empty (it would match everywhere)", i + 1));
            }
            let hir = regex_syntax::Parser::new()
                .parse(p)
                .map_err(|e| format!("`{p}` is not a valid regular expression: {e}"))?;
            if hir.properties().minimum_len() == Some(0) {
                return Err(format!("`{p}` matches the empty text (it would mask between every two characters)"));
            }
        }
        if patterns.is_empty() {
            return Ok(Mask { re: None });
        }
        // Each pattern in its own group, so an inline flag like `(?i)` stays its own.
        let joined = patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<String>>().join("|");
        if patterns.iter().map(String::as_str).eq(BUILT_IN.iter().copied()) {
            return Ok(Mask { re: Some(Arc::new(Compiled { joined, re: OnceLock::new() })) });
        }
        match Regex::new(&joined) {
            Ok(re) => Ok(Mask { re: Some(Arc::new(Compiled { joined, re: OnceLock::from(re) })) }),
            Err(e) => Err(match patterns.iter().find_map(|p| Regex::new(p).err().map(|e| (p, e))) {
                Some((p, e)) => format!("`{p}` cannot be compiled: {}", one_line(&e.to_string())),
                None => format!("the patterns together cannot be compiled: {}", one_line(&e.to_string())),
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.re.is_none()
    }

    /// `s` with every secret replaced.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match &self.re {
            Some(re) if !s.is_empty() => re.get().replace_all(s, regex::NoExpand(REPLACEMENT)),
            _ => Cow::Borrowed(s),
        }
    }

    /// The task with its notes masked; `None` when nothing needed masking.
    pub fn task(&self, t: &Task) -> Option<Task> {
        match self.text(t.notes.as_deref()?) {
            Cow::Borrowed(_) => None,
            Cow::Owned(n) => Some(Task { notes: Some(n), ..t.clone() }),
        }
    }

    /// The event with its `msg` masked; `None` when nothing needed masking.
    pub fn event(&self, e: &Event) -> Option<Event> {
        let msg = e.msg.as_deref()?;
        match self.text(msg) {
            Cow::Borrowed(_) => None,
            Cow::Owned(m) => Some(Event { msg: Some(m), ..e.clone() }),
        }
    }

    /// Masks every string inside a JSON value.
    pub fn json(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                if let Cow::Owned(m) = self.text(s) {
                    *s = m;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.json(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.json(x)),
            _ => {}
        }
    }
}

/// An error on one line (the `regex` crate's size error spans several).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Mask {
        Mask::new(&BUILT_IN.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_built_in_patterns_compile() {
        let m = defaults();
        // Made without compiling (the process-wide cache may hold one another test used).
        let compiled = m.re.as_ref().expect("the built-in list masks");
        assert!(Regex::new(&compiled.joined).is_ok());
        assert_eq!(m.text("password=hunter2"), REPLACEMENT);
    }

    #[test]
    fn the_default_patterns_hide_common_secrets() {
        let m = defaults();
        for (input, want) in [
            ("key sk-abcdefghijklmnop1234 used", "key [masked] used"),
            ("token ghp_ABCDEFGHIJKLMNOPQRSTuvwx!", "token [masked]!"),
            ("PASSWORD=hunter2 and more", "[masked] and more"),
            ("Authorization: Bearer eyJhbGciOi.x-y_z", "Authorization: [masked]"),
            ("AKIAABCDEFGHIJKLMNOP", "[masked]"),
        ] {
            assert_eq!(m.text(input), want, "{input}");
        }
        assert!(matches!(m.text("nothing secret, sk-short"), Cow::Borrowed(_)));
    }

    #[test]
    fn bad_patterns_are_named_and_flags_stay_in_their_pattern() {
        let e = Mask::new(&["(".to_string()]).unwrap_err();
        assert!(e.contains("`(`"), "{e}");
        // Joined, these two would make a valid alternation: each is checked alone.
        let e = Mask::new(&["a)|(?:b".to_string(), "c".to_string()]).unwrap_err();
        assert!(e.contains("`a)|(?:b`"), "{e}");
        let m = Mask::new(&["(?i)abc".to_string(), "XYZ".to_string()]).unwrap();
        assert_eq!(m.text("ABC xyz XYZ"), "[masked] xyz [masked]");
    }

    #[test]
    fn a_pattern_that_cannot_compile_or_masks_everywhere_is_refused_so_masking_fails_closed() {
        let e = Mask::new(&["(x{1000}){1000}".to_string()]).unwrap_err();
        assert!(e.starts_with("`(x{1000}){1000}` cannot be compiled: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = Mask::new(&[r"sk-[a-z]{16,}".to_string(), r"(?:\w{200}){200}".to_string()]).unwrap_err();
        assert!(e.contains(r"`(?:\w{200}){200}` cannot be compiled"), "{e}");
        let e = Mask::new(&["ok".to_string(), String::new()]).unwrap_err();
        assert_eq!(e, "pattern 2 is empty (it would match everywhere)");
        for everywhere in ["a*", "(?:)", "x?|y", "^"] {
            let e = Mask::new(&[everywhere.to_string()]).unwrap_err();
            assert!(e.contains("matches the empty text"), "{everywhere}: {e}");
        }
        // A mask that exists masks: text, events and tasks alike.
        let m = defaults();
        let mut e = Event::new(jiff::Timestamp::UNIX_EPOCH, "task.failed");
        e.msg = Some("password=hunter2".into());
        assert_eq!(m.event(&e).unwrap().msg.as_deref(), Some("[masked]"));
        let mut t = Task::new("ORCH-001".into(), "x".into(), orch_core::task::Priority::P1, 3, e.ts);
        t.notes = Some("fail:password=hunter2 / ok".into());
        assert_eq!(m.task(&t).unwrap().notes.as_deref(), Some("fail:[masked] / ok"));
        assert!(m.task(&Task { notes: Some("nothing".into()), ..t }).is_none());
        assert_eq!(Mask::new(&["\\$x".to_string()]).unwrap().text("a $x b"), "a [masked] b");
    }

    #[test]
    fn json_strings_are_masked_at_any_depth() {
        let mut v = serde_json::json!({"a": ["password=x", {"b": "ok"}], "n": 1});
        defaults().json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["[masked]", {"b": "ok"}], "n": 1}));
    }
}
