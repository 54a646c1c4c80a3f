//! Placeholder templates: `{name}` replaced by a value in one pass, so text that itself
//! contains `{id}` is never expanded again. Used for the worker's argv and its prompt.
//! Unknown placeholders and lone braces are left as they are.

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

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn placeholders_are_replaced_once() {
        let v = [("id", "ORCH-001"), ("task", "say {id} $(rm -rf /)")];
        assert_eq!(render("{id}: {task}", &v), "ORCH-001: say {id} $(rm -rf /)");
        assert_eq!(render("{unknown} {id", &v), "{unknown} {id");
        assert_eq!(render("한국어 {id}", &v), "한국어 ORCH-001");
        assert_eq!(render("", &v), "");
    }
}
