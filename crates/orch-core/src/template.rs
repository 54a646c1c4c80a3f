//! Placeholder templates: `{name}` replaced by a value in one pass, so text that itself
//! contains `{id}` is never expanded again. Used for the worker's argv and its prompt.
//! Unknown placeholders and lone braces are left as they are.
//!
//! An argv template has one rule more, for optional flags ([`render_argv`]): an element
//! that is exactly one placeholder (`"{resume_session}"`) whose value is empty is left
//! out, and so is the element right before it in the template when that one starts with
//! `-` (`"--resume"`). So `["claude", "-p", "{prompt}", "--resume", "{resume_session}"]`
//! runs `claude -p PROMPT` when there is no session to resume.

/// Replaces each `{name}` whose name is in `values`.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after
            .find('}')
            .and_then(|close| values.iter().find(|(k, _)| *k == &after[..close]).map(|(_, v)| (close, v)));
        match hit {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders each element of an argv template, leaving out an element that is exactly one
/// placeholder of `values` whose value is empty, together with the element right before
/// it in the template when that one starts with `-` (its flag).
pub fn render_argv(argv: &[String], values: &[(&str, &str)]) -> Vec<String> {
    let empty = |a: &str| {
        a.strip_prefix('{')
            .and_then(|a| a.strip_suffix('}'))
            .is_some_and(|name| values.iter().any(|(k, v)| *k == name && v.is_empty()))
    };
    let mut keep = vec![true; argv.len()];
    for (i, a) in argv.iter().enumerate() {
        if empty(a) {
            keep[i] = false;
            if i > 0 && argv[i - 1].starts_with('-') {
                keep[i - 1] = false;
            }
        }
    }
    argv.iter().zip(keep).filter(|(_, k)| *k).map(|(a, _)| render(a, values)).collect()
}

#[cfg(test)]
mod tests {
    use super::{render, render_argv};

    fn argv(template: &[&str], values: &[(&str, &str)]) -> Vec<String> {
        render_argv(&template.iter().map(|s| s.to_string()).collect::<Vec<_>>(), values)
    }

    #[test]
    fn an_empty_placeholder_element_leaves_with_its_flag() {
        let claude = ["claude", "-p", "{prompt}", "--output-format", "json", "--resume", "{resume_session}"];
        let with = [("prompt", "do {id}"), ("id", "ORCH-001"), ("resume_session", "abc-123")];
        assert_eq!(argv(&claude, &with), ["claude", "-p", "do {id}", "--output-format", "json", "--resume", "abc-123"]);
        let without = [("prompt", "do it"), ("resume_session", "")];
        assert_eq!(argv(&claude, &without), ["claude", "-p", "do it", "--output-format", "json"]);
        // The element before is no flag: only the empty element goes.
        assert_eq!(argv(&["w", "{resume_session}", "x"], &without), ["w", "x"]);
        assert_eq!(argv(&["{resume_session}", "w"], &without), ["w"]);
        // Only an element that is exactly the placeholder is left out.
        assert_eq!(argv(&["w", "--resume={resume_session}"], &without), ["w", "--resume="]);
        assert_eq!(argv(&["w", "-r", "x{resume_session}"], &without), ["w", "-r", "x"]);
        // Two in a row: each goes, and the flag before the first.
        let two = [("a", ""), ("b", "")];
        assert_eq!(argv(&["w", "--a", "{a}", "{b}", "last"], &two), ["w", "last"]);
        // A value that is not empty, or a placeholder that is unknown, stays.
        assert_eq!(argv(&["w", "--x", "{unknown}"], &two), ["w", "--x", "{unknown}"]);
        assert_eq!(argv(&["w", "--a", "{a}"], &[("a", " ")]), ["w", "--a", " "]);
        // A flag is judged as the template writes it, never as it renders.
        assert_eq!(argv(&["w", "{flag}", "{a}"], &[("flag", "-f"), ("a", "")]), ["w", "-f"]);
    }

    #[test]
    fn placeholders_are_replaced_once() {
        let v = [("id", "ORCH-001"), ("task", "say {id} $(rm -rf /)")];
        assert_eq!(render("{id}: {task}", &v), "ORCH-001: say {id} $(rm -rf /)");
        assert_eq!(render("{unknown} {id", &v), "{unknown} {id");
        assert_eq!(render("한국어 {id}", &v), "한국어 ORCH-001");
        assert_eq!(render("", &v), "");
    }
}
