//! The compact report and its budget: at most 8 bullets and a `Risks` section, counted
//! and trimmed here; the token count itself comes from the caller (a BPE tokenizer is a
//! large table, kept out of the core).
//!
//! Accepted forms of the Risks section: a line `Risks:` (with or without text after it),
//! a heading `## Risks` (any level), `**Risks**`, in any case; also `리스크` and `위험`.
//! Bullets are lines starting with `-`, `*`, `+` or `1.`/`1)`; those inside the Risks
//! section do not count toward the limit.

/// The default limit on bullets.
pub const MAX_BULLETS: usize = 8;

/// What the report rules found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Bullets outside the Risks section.
    pub bullets: usize,
    pub has_risks: bool,
}

fn is_bullet(line: &str) -> bool {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix(['-', '*', '+']) {
        return rest.starts_with(' ') || rest.is_empty();
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && t[digits..].starts_with(['.', ')']) && t[digits + 1..].starts_with(' ')
}

/// Whether `line` opens the Risks section.
fn is_risks_heading(line: &str) -> bool {
    let t = line.trim().trim_start_matches('#').trim().trim_matches('*').trim();
    let t = t.trim_start_matches(['-', '*', '+']).trim();
    let lower = t.to_lowercase();
    ["risks", "risk", "리스크", "위험"].iter().any(|w| {
        lower == *w
            || lower.strip_prefix(w).is_some_and(|rest| {
                let rest = rest.trim_start_matches('*').trim_start();
                rest.starts_with(':') || rest.starts_with('：')
            })
    })
}

/// Counts the bullets and finds the Risks section.
pub fn shape(report: &str) -> Shape {
    let mut bullets = 0;
    let mut in_risks = false;
    let mut has_risks = false;
    for line in report.lines() {
        if is_risks_heading(line) {
            in_risks = true;
            has_risks = true;
            continue;
        }
        if in_risks && line.trim_start().starts_with('#') {
            in_risks = false;
        }
        if !in_risks && is_bullet(line) {
            bullets += 1;
        }
    }
    Shape { bullets, has_risks }
}

/// Why a report breaks the rules, as a sentence for the task's notes (the next attempt's
/// prompt sees it); `None` when it keeps them.
pub fn problems(report: &str, max_bullets: usize) -> Option<String> {
    let s = shape(report);
    let mut out = Vec::new();
    if s.bullets > max_bullets {
        out.push(format!("{} bullets (at most {max_bullets})", s.bullets));
    }
    if !s.has_risks {
        out.push("no Risks section (add `Risks:`)".to_string());
    }
    (!out.is_empty()).then(|| format!("report_invalid: {}", out.join("; ")))
}

/// The report cut to its bullets and its Risks section.
pub fn trim(report: &str) -> String {
    let mut out = String::new();
    let mut in_risks = false;
    for line in report.lines() {
        if is_risks_heading(line) {
            in_risks = true;
        } else if in_risks && line.trim_start().starts_with('#') {
            in_risks = false;
        }
        if in_risks || is_bullet(line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// What the token budget says of a report of `tokens` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Within,
    /// Over soft, within hard: pass, trimmed, noted `budget_soft_exceeded`.
    Soft,
    /// Over hard: block for a person, noted `budget_hard_exceeded`.
    Hard,
}

pub fn budget(tokens: usize, soft: usize, hard: usize) -> Budget {
    if tokens > hard {
        Budget::Hard
    } else if tokens > soft {
        Budget::Soft
    } else {
        Budget::Within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risks_in_the_forms_people_write() {
        for r in [
            "- a\nRisks: none",
            "- a\n## Risks\n- x",
            "- a\n**Risks**\n- x",
            "- a\nRISKS:\n- x",
            "- a\n### risks",
            "- a\n리스크: 없음",
            "- a\n- Risks: none",
        ] {
            assert!(shape(r).has_risks, "{r}");
        }
        for r in ["- a", "- riskless plan", "Risky business"] {
            assert!(!shape(r).has_risks, "{r}");
        }
    }

    #[test]
    fn bullets_outside_risks_count() {
        let r = "Summary\n- a\n* b\n+ c\n1. d\n2) e\n-not a bullet\nRisks:\n- r1\n- r2\n";
        assert_eq!(shape(r), Shape { bullets: 5, has_risks: true });
        let ten: String = (0..10).map(|i| format!("- {i}\n")).collect::<String>() + "Risks: none\n";
        assert_eq!(problems(&ten, 8).unwrap(), "report_invalid: 10 bullets (at most 8)");
        assert!(problems("- a\n", 8).unwrap().contains("Risks"));
        assert_eq!(problems("- a\nRisks: none\n", 8), None);
    }

    #[test]
    fn trim_keeps_bullets_and_risks() {
        let r = "Long preamble\n- a\nmore prose\n- b\n## Risks\n- r\nnote on r\n## Appendix\nlots\n";
        assert_eq!(trim(r), "- a\n- b\n## Risks\n- r\nnote on r\n");
    }

    #[test]
    fn budgets() {
        assert_eq!(budget(2000, 2000, 3500), Budget::Within);
        assert_eq!(budget(2001, 2000, 3500), Budget::Soft);
        assert_eq!(budget(3501, 2000, 3500), Budget::Hard);
    }
}
