//! The compact report and its budget: at most 8 bullets and a `Risks` section, counted
//! and trimmed here; the token count itself comes from the caller (a BPE tokenizer is a
//! large table, kept out of the core).
//!
//! Bullets are lines starting with `-`, `*`, `+` or `1.`/`1)`. The Risks section is
//! written in one of three ways (`Risks`, `Risk`, `리스크` or `위험`, in any case):
//! - inline, `Risks: none` (also as a bullet, `- Risks: none`, or bold, `**Risks:** none`):
//!   that line is the whole section; it opens nothing, so the bullets after it count;
//! - a bare label, `Risks:` or `**Risks**` alone on its line: the section is the list
//!   right below it (bullets, indented continuation lines, blank lines between them) and
//!   ends at the first other line;
//! - a heading, `## Risks` (any level): the section runs to the next heading.
//!
//! Bullets inside the section are risks and do not count toward the limit — but only the
//! first [`MAX_BULLETS`] of them: a Risks section longer than that is no longer compact,
//! and the bullets past it count like any other.

/// The default limit on bullets (and on the risks that do not count toward it).
pub const MAX_BULLETS: usize = 8;

/// What the report rules found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Bullets outside the Risks section (and risks past the first [`MAX_BULLETS`]).
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

/// How a line names the Risks section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    /// `Risks: text`: the line is the whole section.
    Inline,
    /// `Risks:` or `**Risks**` alone: the list below it.
    Bare,
    /// `## Risks`: up to the next heading.
    Heading,
}

fn risks_label(line: &str) -> Option<Label> {
    let t = line.trim();
    let heading = t.starts_with('#');
    let t = t.trim_start_matches('#').trim();
    let t = ["- ", "* ", "+ "].iter().find_map(|m| t.strip_prefix(m)).unwrap_or(t);
    let lower = t.trim_start_matches('*').trim_start().to_lowercase();
    let bare = if heading { Label::Heading } else { Label::Bare };
    ["risks", "risk", "리스크", "위험"].iter().find_map(|w| {
        let rest = lower.strip_prefix(w)?.trim_start_matches('*').trim_start();
        if rest.is_empty() {
            return Some(bare);
        }
        let after = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
        Some(if after.trim_start_matches('*').trim().is_empty() { bare } else { Label::Inline })
    })
}

/// What a line is to the report rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    RisksLabel,
    /// A bullet inside the Risks section, within the first [`MAX_BULLETS`].
    Risk,
    /// Another line inside the Risks section.
    RiskText,
    Bullet,
    Other,
}

/// Each line of `report` with its role.
fn roles(report: &str) -> Vec<(&str, Role)> {
    let mut out = Vec::new();
    // The open section: opened by a heading (or a bare label), and its risks so far.
    let mut section: Option<(Label, usize)> = None;
    for line in report.lines() {
        if let Some(label) = risks_label(line) {
            section = (label != Label::Inline).then_some((label, 0));
            out.push((line, Role::RisksLabel));
            continue;
        }
        let ends = match section {
            Some((Label::Heading, _)) => line.trim_start().starts_with('#'),
            Some(_) => !(line.trim().is_empty() || is_bullet(line) || line.starts_with([' ', '\t'])),
            None => false,
        };
        if ends {
            section = None;
        }
        let role = match (&mut section, is_bullet(line)) {
            (Some((_, risks)), true) if *risks < MAX_BULLETS => {
                *risks += 1;
                Role::Risk
            }
            (_, true) => Role::Bullet,
            (Some(_), false) => Role::RiskText,
            (None, false) => Role::Other,
        };
        out.push((line, role));
    }
    out
}

/// Counts the bullets and finds the Risks section.
pub fn shape(report: &str) -> Shape {
    let roles = roles(report);
    Shape {
        bullets: roles.iter().filter(|(_, r)| *r == Role::Bullet).count(),
        has_risks: roles.iter().any(|(_, r)| *r == Role::RisksLabel),
    }
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
    for (line, role) in roles(report) {
        if role != Role::Other {
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
            "- a\n**Risks:** none",
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

    fn bullets(n: usize, prefix: &str) -> String {
        (0..n).map(|i| format!("- {prefix}{i}\n")).collect()
    }

    #[test]
    fn what_counts_as_a_bullet_and_what_as_a_risk() {
        let twenty_after_inline = format!("Risks: none\n{}", bullets(20, "point "));
        let twelve_risks = format!("- did it\n## Risks\n{}", bullets(12, "risk "));
        let long_label_list = format!("**Risks**\n{}", bullets(10, "r"));
        let cases: &[(&str, &str, usize, bool)] = &[
            ("inline risks, then bullets: they count", &twenty_after_inline, 20, true),
            ("bullets, then inline risks", "- a\n- b\nRisks: none\n", 2, true),
            ("a bulleted inline label counts as neither", "- a\n- Risks: none\n- b\n", 2, true),
            ("a bare label takes the list below it", "- a\nRisks:\n- r1\n- r2\n", 1, true),
            (
                "the list ends at the first other line",
                "Risks:\n- r1\n  more on r1\n\n- r2\nThat is all.\n- a\n- b\n",
                2,
                true,
            ),
            ("a bold label is a bare label", "**Risks**\n- r\nSummary:\n- a\n", 1, true),
            ("a heading runs to the next heading", "## Risks\n- r1\nnote\n- r2\n## Next\n- a\n", 1, true),
            ("prose under a heading keeps its section open", "## Risks\nNone known.\n- r\n", 0, true),
            ("past eight risks, bullets count", &twelve_risks, 5, true),
            ("ten under a bold label: two count", &long_label_list, 2, true),
            ("no Risks at all", "- a\n- riskless plan\n", 2, false),
            ("numbered bullets", "1. a\n2) b\n-not a bullet\nRisks:\n- r\n", 2, true),
            ("Korean", "리스크: 없음\n- a\n", 1, true),
            ("an empty label", "- a\nRisks:\n", 1, true),
        ];
        for (what, report, want_bullets, want_risks) in cases {
            let got = shape(report);
            assert_eq!(got, Shape { bullets: *want_bullets, has_risks: *want_risks }, "{what}:\n{report}");
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
        let loophole = format!("Risks: none\n{}", bullets(20, ""));
        assert_eq!(problems(&loophole, 8).unwrap(), "report_invalid: 20 bullets (at most 8)");
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
