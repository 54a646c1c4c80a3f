//! Where things are in a config text, for error messages: each dotted key's line and
//! the key a parse error points into; and a deserializer's message in plain words.

use std::ops::Range;

/// Every key of a config text with where its name and its value are, by dotted name.
pub(super) struct Keys(Vec<(String, Range<usize>, Range<usize>)>);

impl Keys {
    /// The keys of `text`; none when it is not even TOML (the parse error says where).
    pub(super) fn of(text: &str) -> Keys {
        fn walk(table: &toml::de::DeTable<'_>, prefix: &str, out: &mut Vec<(String, Range<usize>, Range<usize>)>) {
            for (k, v) in table.iter() {
                let name =
                    if prefix.is_empty() { k.get_ref().to_string() } else { format!("{prefix}.{}", k.get_ref()) };
                if let toml::de::DeValue::Table(inner) = v.get_ref() {
                    walk(inner, &name, out);
                }
                out.push((name, k.span(), v.span()));
            }
        }
        let mut out = Vec::new();
        if let Ok(doc) = toml::de::DeTable::parse(text) {
            walk(doc.get_ref(), "", &mut out);
        }
        Keys(out)
    }

    /// The innermost key whose name or value holds byte `at`.
    pub(super) fn at(&self, at: usize) -> Option<&str> {
        let holds = |r: &Range<usize>| r.start <= at && at < r.end.max(r.start + 1);
        self.0
            .iter()
            .filter(|(_, k, v)| holds(k) || holds(v))
            .max_by_key(|(name, _, _)| name.matches('.').count())
            .map(|(name, _, _)| name.as_str())
    }

    /// The line of `key`, when the text sets it.
    pub(super) fn line(&self, text: &str, key: &str) -> Option<usize> {
        self.0.iter().find(|(name, _, _)| name == key).map(|(_, k, _)| line_of(text, k.start))
    }
}

/// The 1-based line of byte `at`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A deserializer's message in words: the Rust type a value should have, named as a
/// person would (`expected usize` is `expected a whole number, 0 or more`).
pub(super) fn plain(msg: &str) -> String {
    let words = [
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
    ];
    let mut out = msg.to_string();
    for (from, to) in words {
        if out.ends_with(from) {
            out.truncate(out.len() - from.len());
            out.push_str(to);
        }
    }
    out
}
