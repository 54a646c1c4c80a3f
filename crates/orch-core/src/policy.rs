//! The retry and ordering policy: how long to wait after a failure, when to stop, and
//! which eligible task goes first.

use crate::task::Task;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Why a run failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureClass {
    /// Worth another attempt after a backoff (exit 75, timeout, lease expiry, …).
    Transient,
    /// Only an operator's `retry` brings the task back.
    Permanent,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::Permanent => "permanent",
        }
    }

    pub fn parse(s: &str) -> Option<FailureClass> {
        match s {
            "transient" => Some(FailureClass::Transient),
            "permanent" => Some(FailureClass::Permanent),
            _ => None,
        }
    }
}

/// Backoff between attempts. The default `1m, 3m, 10m` gives three retries, four
/// attempts in all; past the list the last delay repeats for tasks with more attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub backoff: Vec<SignedDuration>,
    /// 0.0 = none; 0.1 = each delay stretched by up to 10%.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            backoff: vec![SignedDuration::from_mins(1), SignedDuration::from_mins(3), SignedDuration::from_mins(10)],
            jitter: 0.0,
        }
    }
}

impl RetryPolicy {
    /// Attempts a task gets unless it says otherwise: one plus a retry per delay.
    pub fn default_max_attempts(&self) -> u32 {
        u32::try_from(self.backoff.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// The delay after failed attempt number `attempt` (1-based). `unit` in [0, 1) is
    /// the caller's random draw for jitter.
    pub fn delay(&self, attempt: u32, unit: f64) -> SignedDuration {
        let Some(last) = self.backoff.last() else {
            return SignedDuration::ZERO;
        };
        let i = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        let base = *self.backoff.get(i).unwrap_or(last);
        if self.jitter <= 0.0 {
            return base;
        }
        let stretch = self.jitter * unit.clamp(0.0, 1.0);
        base.saturating_add(crate::time::secs_f64(base.as_secs_f64() * stretch))
    }

    /// When the task may run again after a transient failure of attempt `attempt`, or
    /// `None` when its attempts are spent.
    pub fn next_retry(&self, attempt: u32, max_attempts: u32, now: Timestamp, unit: f64) -> Option<Timestamp> {
        (attempt < max_attempts).then(|| crate::time::later(now, self.delay(attempt, unit)))
    }
}

/// The pick order: priority, then due time (earliest first, none last), then id number,
/// then insertion order (docs/LEASES.md). Tasks that differ in none of the first three
/// (two prefixes, one number) compare equal: a stable sort of tasks in queue order, which
/// is insertion order, puts them as the stores do. The stores sort the same way in SQL;
/// the conformance suite holds them to this over random queues.
pub fn pick_order(a: &Task, b: &Task) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then_with(|| match (a.due_at, b.due_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| id_number(&a.id).cmp(&id_number(&b.id)))
}

fn id_number(id: &str) -> u64 {
    crate::id::parse_id(id).map_or(u64::MAX, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Priority;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn backoff_is_one_three_ten_minutes_then_spent() {
        let p = RetryPolicy::default();
        let now = ts("2026-01-01T00:00:00Z");
        let max = p.default_max_attempts();
        assert_eq!(max, 4);
        let waits: Vec<i64> =
            (1..=3).map(|a| p.next_retry(a, max, now, 0.5).unwrap().duration_since(now).as_secs()).collect();
        assert_eq!(waits, [60, 180, 600]);
        assert_eq!(p.next_retry(4, max, now, 0.5), None);
        // a task allowed more attempts repeats the last delay
        assert_eq!(p.delay(7, 0.0).as_secs(), 600);
    }

    #[test]
    fn the_longest_delays_at_the_end_of_time_do_not_overflow() {
        let p = RetryPolicy { backoff: vec![SignedDuration::MAX], jitter: 1.0 };
        assert_eq!(p.delay(1, 1.0), SignedDuration::MAX);
        assert_eq!(p.next_retry(1, 2, Timestamp::MAX, 1.0), Some(Timestamp::MAX));
    }

    #[test]
    fn jitter_stretches_within_its_bound() {
        let p = RetryPolicy { jitter: 0.1, ..RetryPolicy::default() };
        assert_eq!(p.delay(1, 0.0).as_secs(), 60);
        assert_eq!(p.delay(1, 0.5).as_secs(), 63);
        assert!(p.delay(1, 0.999).as_secs() <= 66);
    }

    #[test]
    fn order_is_priority_due_then_id() {
        let now = ts("2026-01-01T00:00:00Z");
        let mk = |id: &str, p: Priority, due: Option<&str>| {
            let mut t = Task::new(id.into(), "x".into(), p, 4, now);
            t.due_at = due.map(ts);
            t
        };
        let mut v = [
            mk("ORCH-010", Priority::P1, None),
            mk("ORCH-002", Priority::P1, None),
            mk("ORCH-003", Priority::P1, Some("2026-01-03T00:00:00Z")),
            mk("ORCH-004", Priority::P1, Some("2026-01-02T00:00:00Z")),
            mk("ORCH-005", Priority::P2, Some("2026-01-01T00:00:00Z")),
            mk("ORCH-006", Priority::P0, None),
        ];
        v.sort_by(pick_order);
        let ids: Vec<&str> = v.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["ORCH-006", "ORCH-004", "ORCH-003", "ORCH-002", "ORCH-010", "ORCH-005"]);
    }

    #[test]
    fn ids_of_one_number_keep_insertion_order_not_the_order_of_their_text() {
        let now = ts("2026-01-01T00:00:00Z");
        let mk = |id: &str| Task::new(id.into(), "x".into(), Priority::P1, 4, now);
        // In queue order: WEB-5 was added before ORCH-005, whose text sorts first.
        let mut v = [mk("WEB-5"), mk("ORCH-007"), mk("ORCH-005"), mk("API-05")];
        assert_eq!(pick_order(&v[0], &v[2]), Ordering::Equal);
        v.sort_by(pick_order);
        let ids: Vec<&str> = v.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["WEB-5", "ORCH-005", "API-05", "ORCH-007"]);
    }
}
