//! Tests of usage-limit recognition over the agents' real output (the fixtures kept in
//! `crates/orch/tests/fixtures/`) and the reset times their words give.

use super::*;

const CLAUDE_UNIX: &str = include_str!("../../orch/tests/fixtures/claude_usage_limit.json");
const CLAUDE_CLOCK: &str = include_str!("../../orch/tests/fixtures/claude_limit_resets.json");
const CODEX_IN: &str = include_str!("../../orch/tests/fixtures/codex_usage_limit.jsonl");
const CODEX_AT: &str = include_str!("../../orch/tests/fixtures/codex_usage_limit_at.jsonl");

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn seoul() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap()
}

#[test]
fn claude_code_results_on_a_usage_limit_are_recognised_with_their_reset() {
    let l = recognise(CLAUDE_UNIX).unwrap();
    assert_eq!((l.agent, &l.reset), (Agent::Claude, &Reset::At(Timestamp::from_second(1_750_000_000).unwrap())));
    let l = recognise(CLAUDE_CLOCK).unwrap();
    assert_eq!(l.reset, Reset::Clock { date: None, time: (15, 0), zone: None });
    let now = ts("2026-03-10T05:00:00Z"); // 14:00 in Seoul
    assert_eq!(reset_at(&l.reset, now, &seoul()), Some(ts("2026-03-10T06:00:00Z")));
    let now = ts("2026-03-10T07:00:00Z"); // 16:00 in Seoul: tomorrow's 3pm
    assert_eq!(reset_at(&l.reset, now, &seoul()), Some(ts("2026-03-11T06:00:00Z")));
}

#[test]
fn claude_code_texts_of_a_limit_read_their_time_and_zone() {
    let clock = |s: &str| recognise(s).map(|l| l.reset);
    assert_eq!(
        clock("You've hit your limit · resets 3:30am (Europe/Moscow)"),
        Some(Reset::Clock { date: None, time: (3, 30), zone: Some("Europe/Moscow".into()) })
    );
    assert_eq!(
        clock(
            "You've hit your limit - resets Feb 7, 11am (Asia/Seoul)/login to switch to an API usage-billed account."
        ),
        Some(Reset::Clock { date: Some((None, 2, 7)), time: (11, 0), zone: Some("Asia/Seoul".into()) })
    );
    assert_eq!(
        clock("Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw)."),
        Some(Reset::Clock { date: None, time: (17, 0), zone: Some("Europe/Warsaw".into()) })
    );
    assert_eq!(
        clock("Weekly limit reached ∙ resets Oct 9, 10am"),
        Some(Reset::Clock { date: Some((None, 10, 9)), time: (10, 0), zone: None })
    );
    assert_eq!(clock("Claude AI usage limit reached"), Some(Reset::Unknown));
    // A date this year that passed is next year's.
    let feb7 = Reset::Clock { date: Some((None, 2, 7)), time: (11, 0), zone: None };
    assert_eq!(reset_at(&feb7, ts("2026-03-10T00:00:00Z"), &seoul()), Some(ts("2027-02-07T02:00:00Z")));
}

#[test]
fn codex_usage_limit_events_are_recognised_with_their_reset() {
    let l = recognise(CODEX_IN).unwrap();
    assert_eq!((l.agent, &l.reset), (Agent::Codex, &Reset::In(SignedDuration::from_secs(2 * 3600 + 5 * 60))));
    assert!(l.message.starts_with("You've hit your usage limit."), "{}", l.message);
    let l = recognise(CODEX_AT).unwrap();
    assert_eq!(l.reset, Reset::Clock { date: Some((Some(2026), 4, 28)), time: (22, 3), zone: None });
    let utc = TimeZone::UTC;
    assert_eq!(reset_at(&l.reset, ts("2026-03-10T00:00:00Z"), &utc), Some(ts("2026-04-28T22:03:00Z")));
    let raw = r#"{"type":"error","message":"{\"type\":\"error\",\"error\":{\"type\":\"usage_limit_reached\",\"message\":\"The usage limit has been reached\",\"plan_type\":\"plus\",\"resets_at\":1777936568,\"resets_in_seconds\":13872}}"}"#;
    assert_eq!(recognise(raw).unwrap().reset, Reset::At(Timestamp::from_second(1_777_936_568).unwrap()));
}

#[test]
fn reports_that_only_mention_a_limit_are_not_limits() {
    for text in [
        "- fixed the usage limit reached banner\nRisks: none\n",
        "The usage limit reached its maximum, so I raised it.",
        r#"{"type":"result","subtype":"success","is_error":false,"result":"- done\nRisks: none"}"#,
        "{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"You've hit your usage limit\"}}\n",
        "{\"type\":\"error\",\"message\":\"stream disconnected before completion\"}\n",
        "",
    ] {
        assert_eq!(recognise(text), None, "{text}");
    }
}

#[test]
fn times_of_day_read_as_people_write_them() {
    assert_eq!(time_of_day("3pm"), Some((15, 0)));
    assert_eq!(time_of_day("12am"), Some((0, 0)));
    assert_eq!(time_of_day("12pm"), Some((12, 0)));
    assert_eq!(time_of_day("10:03pm"), Some((22, 3)));
    assert_eq!(time_of_day("15:00"), Some((15, 0)));
    assert_eq!(time_of_day("13pm"), None);
    assert_eq!(time_of_day("3"), None);
    assert_eq!(duration_words("45 seconds."), Some(SignedDuration::from_secs(45)));
    assert_eq!(duration_words("3 days 1 hour"), Some(SignedDuration::from_secs(3 * 86_400 + 3_600)));
    assert_eq!(duration_words("a while"), None);
}
