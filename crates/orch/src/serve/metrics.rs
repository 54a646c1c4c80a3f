//! `GET /metrics`: the queue in the Prometheus text format (OpenMetrics, through
//! `prometheus-client`), every name prefixed `orch_`, read afresh at each scrape from
//! the same calls as `workers --json` and `kpi --json` (so the numbers are theirs):
//! tasks by priority and status, running tasks, leases held and expired, each running
//! task's lease left, pauses, each dispatcher's liveness, and the KPI window of the last
//! 24 hours (runs started and finished by outcome, retries, lease expiries, gate
//! verdicts, tokens, stale leases, latency and queue wait with their histograms, cost,
//! alerts firing). Several `serve` processes on one database report the same numbers:
//! they are the store's. A window's numbers are gauges named `…_24h`; its histograms are
//! the KPI's buckets as they are (`WindowHistogram`), so they too may go down.

use super::reply::{Answer, Fail};
use super::state::AppState;
use crate::api;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use orch_core::histogram::Histogram;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;
type Float = Gauge<f64, AtomicU64>;

/// The KPI window the metrics cover.
const WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

pub async fn metrics(axum::extract::State(s): axum::extract::State<AppState>) -> Answer {
    let (fleet, kpi) =
        s.read(|orch| Ok((api::workers(orch)?, api::kpi(orch, api::KpiRequest { since: WINDOW })?))).await?;
    let text = render(&fleet, &kpi).map_err(|e| Fail::Api(crate::error::Error::Io(format!("metrics: {e}"))))?;
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(r)
}

fn gauge(reg: &mut Registry, name: &str, help: &str, v: i64) {
    let g = Gauge::<i64>::default();
    g.set(v);
    reg.register(name, help, g);
}

fn float(reg: &mut Registry, name: &str, help: &str, v: f64) {
    let g = Float::default();
    g.set(v);
    reg.register(name, help, g);
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn label(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
}

/// A family of gauges, one per `(label value, number)`.
fn by<'a, N: Copy + 'a>(
    reg: &mut Registry,
    name: &str,
    help: &str,
    key: &str,
    values: impl IntoIterator<Item = (&'a String, &'a N)>,
) where
    usize: TryFrom<N>,
{
    let family = Family::<Labels, Gauge>::default();
    for (k, n) in values {
        family.get_or_create(&label(&[(key, k)])).set(count(usize::try_from(*n).unwrap_or(usize::MAX)));
    }
    reg.register(name, help, family);
}

/// A KPI histogram as it is: its buckets, sum and count over the window (not a count
/// since the start, so it may go down).
#[derive(Debug)]
struct WindowHistogram(Histogram);

impl EncodeMetric for WindowHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder takes each bucket's own count and adds them up again.
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = Vec::with_capacity(self.0.buckets.len() + 1);
        for b in &self.0.buckets {
            buckets.push((b.le_s, b.count.saturating_sub(below) as u64));
            below = b.count;
        }
        buckets.push((f64::INFINITY, self.0.count.saturating_sub(below) as u64));
        encoder.encode_histogram::<NoLabelSet>(self.0.sum_s, self.0.count as u64, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn render(fleet: &api::Fleet, kpi: &orch_core::kpi::Kpi) -> Result<String, std::fmt::Error> {
    let mut reg = Registry::with_prefix("orch");
    let tasks = Family::<Labels, Gauge>::default();
    for (priority, by_status) in &fleet.queue {
        for (status, n) in by_status {
            tasks.get_or_create(&label(&[("priority", priority), ("status", status)])).set(count(*n));
        }
    }
    reg.register("tasks", "Tasks by priority and status", tasks);
    gauge(&mut reg, "running_tasks", "Tasks IN_PROGRESS with a lease held", count(fleet.workers.len()));
    let expired = fleet.workers.iter().filter(|w| w.lease_left_s.is_some_and(|l| l < 0.0)).count();
    gauge(&mut reg, "leases_expired", "Leases expired and not swept yet", count(expired));
    let left = Family::<Labels, Float>::default();
    for w in &fleet.workers {
        if let Some(l) = w.lease_left_s {
            left.get_or_create(&label(&[("task", &w.task_id), ("owner", &w.owner)])).set(l);
        }
    }
    reg.register("lease_left_seconds", "Seconds left on each running task's lease", left);
    gauge(&mut reg, "pauses", "Pauses in force (the queue's and each profile's)", count(fleet.paused.len()));
    let (up, age) = (Family::<Labels, Gauge>::default(), Family::<Labels, Float>::default());
    for d in &fleet.dispatchers {
        let labels = label(&[("host", &d.host), ("pid", &d.pid.to_string())]);
        up.get_or_create(&labels).set(i64::from(d.alive));
        age.get_or_create(&labels).set(d.seen_age_s);
    }
    reg.register("dispatcher_up", "1 for each dispatcher alive, 0 for one stopped or unseen", up);
    reg.register("dispatcher_seen_age_seconds", "Seconds since each dispatcher was last seen", age);
    let c = &kpi.counts;
    gauge(&mut reg, "runs_started_24h", "Runs started in the last 24 hours", count(c.runs_started));
    let finished = "Runs finished in the last 24 hours, by outcome";
    by(&mut reg, "runs_finished_24h", finished, "outcome", &c.runs_finished);
    gauge(&mut reg, "lease_expiries_24h", "Runs whose lease expired in the last 24 hours", count(c.lease_expiries));
    let verdicts = "Gate verdicts on runs finished in the last 24 hours";
    by(&mut reg, "gate_verdicts_24h", verdicts, "verdict", &c.verdicts);
    let tokens = "Tokens reported by runs active in the last 24 hours, by kind";
    by(&mut reg, "tokens_24h", tokens, "kind", &c.tokens);
    let duration = "Run duration of the runs ended in the last 24 hours as a success or a failure";
    reg.register("run_duration_seconds_24h", duration, WindowHistogram(kpi.run_duration.clone()));
    let wait = "Queue wait of the claims made in the last 24 hours";
    reg.register("queue_wait_seconds_24h", wait, WindowHistogram(kpi.queue_wait.clone()));
    gauge(&mut reg, "runs_running", "Runs going now", count(kpi.running));
    gauge(&mut reg, "retries_24h", "Runs started in the last 24 hours that were a retry", count(kpi.retries));
    gauge(&mut reg, "stale_leases", "Leases whose heartbeat is late", count(kpi.stale));
    for (name, help, v) in [
        ("run_latency_p50_seconds_24h", "Median run duration, last 24 hours", kpi.latency_p50_s),
        ("run_latency_p95_seconds_24h", "95th percentile run duration, last 24 hours", kpi.latency_p95_s),
        ("queue_wait_p50_seconds_24h", "Median claim wait, last 24 hours", kpi.wait_p50_s),
        ("queue_wait_p95_seconds_24h", "95th percentile claim wait, last 24 hours", kpi.wait_p95_s),
    ] {
        if let Some(v) = v {
            float(&mut reg, name, help, v);
        }
    }
    float(&mut reg, "throughput_per_hour_24h", "Runs done per hour, last 24 hours", kpi.throughput_per_h);
    float(&mut reg, "cost_usd_24h", "Cost reported by runs active in the last 24 hours", kpi.cost_usd);
    float(&mut reg, "cost_today_usd", "Cost reported by runs started today", kpi.cost_today_usd);
    let alerts = Family::<Labels, Gauge>::default();
    for a in &kpi.alerts {
        alerts.get_or_create(&label(&[("alert", &a.name)])).set(1);
    }
    reg.register("alert_firing", "1 for each KPI alert firing", alerts);
    gauge(&mut reg, "alerts_firing", "KPI alerts firing", count(kpi.alerts.len()));
    let mut out = String::new();
    encode(&mut out, &reg)?;
    Ok(out)
}
