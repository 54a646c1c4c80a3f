//! Histograms of durations over fixed bucket bounds, as the KPIs give them: the bounds
//! chosen for agent work (run durations from a second to hours, queue waits from a tenth
//! of a second to hours), cumulative counts per bound, the sum and the count. The `+Inf`
//! bucket is not listed: it is `count`.

use serde::Serialize;

/// Bucket bounds of run durations, in seconds: 1s, 5s, 15s, 30s, 1m, 2m, 5m, 10m, 20m,
/// 30m, 1h, 2h, 4h (and `+Inf`).
pub const RUN_DURATION_BOUNDS_S: &[f64] =
    &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0];

/// Bucket bounds of queue waits, in seconds: 0.1s, 0.5s, 1s, 5s, 15s, 30s, 1m, 5m, 15m,
/// 1h, 4h (and `+Inf`).
pub const QUEUE_WAIT_BOUNDS_S: &[f64] = &[0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0];

/// One bucket: how many values are at or below `le_s` seconds (cumulative).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bucket {
    pub le_s: f64,
    pub count: usize,
}

/// A histogram of durations in seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// One bucket per finite bound, in increasing order; counts are cumulative.
    pub buckets: Vec<Bucket>,
    /// The sum of the values, in seconds.
    pub sum_s: f64,
    /// How many values (the `+Inf` bucket).
    pub count: usize,
}

impl Histogram {
    /// The histogram of `values` (seconds) over `bounds` (increasing, finite): a value
    /// counts in every bucket whose bound is at or above it.
    pub fn of(bounds: &[f64], values: &[f64]) -> Histogram {
        let buckets =
            bounds.iter().map(|&le| Bucket { le_s: le, count: values.iter().filter(|v| **v <= le).count() }).collect();
        // Folded from +0.0: an empty sum is 0, not the -0 `sum` gives.
        Histogram { buckets, sum_s: values.iter().fold(0.0, |a, v| a + v), count: values.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_cumulative_and_a_value_on_a_bound_is_in_its_bucket() {
        let h = Histogram::of(&[1.0, 5.0, 15.0], &[0.5, 1.0, 3.0, 5.0, 20.0]);
        let counts: Vec<usize> = h.buckets.iter().map(|b| b.count).collect();
        assert_eq!(counts, [2, 4, 4]);
        assert_eq!((h.sum_s, h.count), (29.5, 5));
        assert_eq!(h.buckets[1].le_s, 5.0);
    }

    #[test]
    fn no_values_give_every_bucket_empty() {
        let h = Histogram::of(RUN_DURATION_BOUNDS_S, &[]);
        assert_eq!(h.buckets.len(), RUN_DURATION_BOUNDS_S.len());
        assert!(h.buckets.iter().all(|b| b.count == 0));
        assert_eq!((h.sum_s, h.count), (0.0, 0));
        assert!(h.sum_s.is_sign_positive(), "0, not -0");
    }

    #[test]
    fn the_bounds_increase_and_are_finite() {
        for bounds in [RUN_DURATION_BOUNDS_S, QUEUE_WAIT_BOUNDS_S] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
            assert!(bounds.iter().all(|b| b.is_finite() && *b > 0.0));
        }
        assert_eq!(RUN_DURATION_BOUNDS_S.last(), Some(&14400.0));
        assert_eq!(QUEUE_WAIT_BOUNDS_S.first(), Some(&0.1));
    }
}
