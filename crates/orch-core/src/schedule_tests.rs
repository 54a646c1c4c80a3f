//! One tick of a schedule: what becomes a task, what is skipped and said.

use super::*;
use crate::cron::parse;
use std::collections::BTreeMap;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn schedule(cron: &str, catch_up: CatchUp, last_tick: Timestamp) -> Schedule {
    Schedule {
        name: "s".into(),
        spec: ScheduleSpec {
            cron: cron.into(),
            task: "t".into(),
            priority: Priority::P1,
            success_criteria: None,
            profile: None,
            resource: None,
            max_attempts: None,
            overlap: false,
            catch_up,
            created_at: last_tick,
        },
        paused: false,
        last_tick,
        last_task: None,
        version: 1,
    }
}

fn ticks(cron: &str, catch_up: CatchUp, last: &str, now: &str) -> Plan {
    let s = schedule(cron, catch_up, at(last));
    plan(&s, &parse(cron).unwrap(), &TimeZone::UTC, at(now), false)
}

#[test]
fn nothing_due_writes_nothing_and_one_due_fires_once() {
    let p = ticks("*/2 * * * * *", CatchUp::One, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01.9Z");
    assert_eq!(p, Plan::default());
    let p = ticks("*/2 * * * * *", CatchUp::One, "2026-01-01T00:00:00Z", "2026-01-01T00:00:02.1Z");
    assert_eq!(p.fire, [Fire { at: at("2026-01-01T00:00:02Z"), stands_for: 0 }]);
    assert!(p.skipped.is_empty());
    assert_eq!(p.handled_to, Some(at("2026-01-01T00:00:02Z")));
}

#[test]
fn after_a_ten_second_stop_each_catch_up_rule_does_what_it_says() {
    let (last, now) = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:10.5Z");
    let one = ticks("*/2 * * * * *", CatchUp::One, last, now);
    assert_eq!(one.fire, [Fire { at: at("2026-01-01T00:00:10Z"), stands_for: 4 }]);
    let missed = Skipped {
        reason: SkipReason::Missed,
        count: 4,
        more: false,
        first: at("2026-01-01T00:00:02Z"),
        last: at("2026-01-01T00:00:08Z"),
    };
    assert_eq!(one.skipped, std::slice::from_ref(&missed));
    let none = ticks("*/2 * * * * *", CatchUp::None, last, now);
    assert_eq!(none.fire, [Fire { at: at("2026-01-01T00:00:10Z"), stands_for: 0 }], "the latest is on time");
    assert_eq!(none.skipped, [missed]);
    let all = ticks("*/2 * * * * *", CatchUp::All, last, now);
    assert_eq!(all.fire.len(), 5);
    assert!(all.skipped.is_empty());
}

#[test]
fn catch_up_none_runs_nothing_late_and_all_is_bounded() {
    let none = ticks("@daily", CatchUp::None, "2026-01-01T00:00:00Z", "2026-01-02T09:00:00Z");
    assert!(none.fire.is_empty());
    assert_eq!(none.skipped[0].count, 1);
    assert_eq!(none.handled_to, Some(at("2026-01-02T00:00:00Z")));
    let all = ticks("* * * * * *", CatchUp::All, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    assert_eq!(all.fire.len(), FIRE_LIMIT);
    assert_eq!(all.fire.last().unwrap().at, at("2026-01-02T00:00:00Z"));
    assert!(all.skipped[0].more && all.skipped[0].count == SCAN_LIMIT - FIRE_LIMIT, "{:?}", all.skipped);
    assert_eq!(all.skipped[0].first, at("2026-01-01T00:00:01Z"));
}

#[test]
fn an_open_previous_task_refuses_the_occurrence_unless_overlap_is_allowed() {
    let mut s = schedule("*/2 * * * * *", CatchUp::One, at("2026-01-01T00:00:00Z"));
    let c = parse("*/2 * * * * *").unwrap();
    let p = plan(&s, &c, &TimeZone::UTC, at("2026-01-01T00:00:02Z"), true);
    assert!(p.fire.is_empty());
    assert_eq!(p.skipped[0].reason, SkipReason::Overlap);
    assert_eq!(p.handled_to, Some(at("2026-01-01T00:00:02Z")));
    s.spec.overlap = true;
    assert_eq!(plan(&s, &c, &TimeZone::UTC, at("2026-01-01T00:00:02Z"), true).fire.len(), 1);
    s.paused = true;
    assert_eq!(plan(&s, &c, &TimeZone::UTC, at("2026-01-01T00:00:02Z"), true), Plan::default());
}

#[test]
fn ticking_every_five_minutes_across_daylight_saving_changes_fires_once_a_local_day() {
    // A fixed clock stepped five minutes at a time from two days before to two days after
    // each change; each local day gets exactly one task (Europe/Berlin: 02:30 missing
    // on 2026-03-29, twice on 2026-10-25; America/New_York: 02:30 missing on 2026-03-08).
    let cases = [
        ("Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("Europe/Berlin", "2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z"),
        ("America/New_York", "2026-03-06T12:00:00Z", "2026-03-10T12:00:00Z"),
        ("America/New_York", "2026-10-30T12:00:00Z", "2026-11-03T12:00:00Z"),
    ];
    let c = parse("30 2 * * *").unwrap();
    for (zone, from, to) in cases {
        let tz = TimeZone::get(zone).unwrap();
        let mut s = schedule("30 2 * * *", CatchUp::One, at(from));
        let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
        let mut now = at(from);
        while now < at(to) {
            let p = plan(&s, &c, &tz, now, false);
            for f in &p.fire {
                *per_day.entry(f.at.to_zoned_datetime(tz.clone()).date().to_string()).or_default() += 1;
            }
            assert!(p.skipped.is_empty(), "{zone} {now}: {:?}", p.skipped);
            if let Some(h) = p.handled_to {
                s.last_tick = h;
            }
            now += SignedDuration::from_mins(5);
        }
        assert_eq!(per_day.len(), 4, "{zone}: {per_day:?}");
        assert!(per_day.values().all(|n| *n == 1), "{zone}: {per_day:?}");
    }
}
