//! The [`Backend`] wrapper that masks: every transaction it runs, write or read, hands
//! the caller a [`MaskTx`], which masks history text and notes on their way in and
//! forwards everything else, so no writer can store a secret unmasked, through any
//! method of [`Tx`] or a write in a read transaction alike.

use super::Mask;
use crate::{
    Backend, Capabilities, ClaimSpec, EventQuery, ListFilter, NextClaim, ProcessInfo, Pruned, Result, Run, RunEnd,
    Settle, Tx, ViewHistory, ViewInfo, ViewKept, ViewMark, ViewRow,
};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::schedule::Schedule;
use orch_core::task::{Priority, Status, Task};
use std::collections::HashMap;
use std::sync::Arc;

/// A backend whose transactions mask history text and notes on their way in.
pub struct Masked {
    inner: Box<dyn Backend>,
    mask: Arc<Mask>,
}

/// `db` behind the mask, or `db` itself when the mask is empty.
pub fn wrap(db: Box<dyn Backend>, mask: Arc<Mask>) -> Box<dyn Backend> {
    if mask.is_empty() { db } else { Box::new(Masked { inner: db, mask }) }
}

impl Backend for Masked {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.inner.write(&mut |tx| f(&mut MaskTx { inner: tx, mask: &self.mask }))
    }

    /// Wrapped as a write is: a read transaction should not write, but one that does
    /// (SQLite would let it) must not store a secret either.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.inner.read(&mut |tx| f(&mut MaskTx { inner: tx, mask: &self.mask }))
    }

    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<bool> {
        self.inner.wait_for_change(timeout)
    }

    fn data_version(&self) -> Result<Option<i64>> {
        self.inner.data_version()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

/// A transaction that masks events and runs' texts and forwards everything else: every
/// method of [`Tx`], those with a default too, so each store's own reading is used (a
/// test below fails when one is missing).
pub struct MaskTx<'a> {
    inner: &'a mut dyn Tx,
    mask: &'a Mask,
}

impl Tx for MaskTx<'_> {
    fn event_insert(&mut self, event: &Event) -> Result<i64> {
        match self.mask.event(event) {
            Some(masked) => self.inner.event_insert(&masked),
            None => self.inner.event_insert(event),
        }
    }

    fn events_insert(&mut self, events: &[Event]) -> Result<()> {
        if !events.iter().any(|e| self.mask.event(e).is_some()) {
            return self.inner.events_insert(events);
        }
        let masked: Vec<Event> = events.iter().map(|e| self.mask.event(e).unwrap_or_else(|| e.clone())).collect();
        self.inner.events_insert(&masked)
    }

    fn task_get(&mut self, id: &str) -> Result<Option<Task>> {
        self.inner.task_get(id)
    }
    fn task_insert(&mut self, task: &Task) -> Result<()> {
        match self.mask.task(task) {
            Some(masked) => self.inner.task_insert(&masked),
            None => self.inner.task_insert(task),
        }
    }
    fn task_update(&mut self, task: &Task) -> Result<Task> {
        match self.mask.task(task) {
            Some(masked) => self.inner.task_update(&masked),
            None => self.inner.task_update(task),
        }
    }
    fn task_by_number(&mut self, prefix: &str, num: u64) -> Result<Option<String>> {
        self.inner.task_by_number(prefix, num)
    }
    fn dependents_of(&mut self, id: &str) -> Result<Vec<Task>> {
        self.inner.dependents_of(id)
    }
    fn task_max_num(&mut self, prefix: &str) -> Result<u64> {
        self.inner.task_max_num(prefix)
    }
    fn task_nums_from(&mut self, prefix: &str, from: u64, limit: usize) -> Result<Vec<u64>> {
        self.inner.task_nums_from(prefix, from, limit)
    }
    fn task_list(&mut self, filter: &ListFilter) -> Result<Vec<Task>> {
        self.inner.task_list(filter)
    }
    fn tasks_each(
        &mut self,
        filter: &ListFilter,
        limit: Option<u64>,
        offset: u64,
        f: &mut dyn FnMut(Task) -> Result<()>,
    ) -> Result<()> {
        self.inner.tasks_each(filter, limit, offset, f)
    }
    fn tasks_waiting(&mut self, now: Timestamp) -> Result<u64> {
        self.inner.tasks_waiting(now)
    }
    fn task_counts(&mut self) -> Result<Vec<(Status, Priority, u64)>> {
        self.inner.task_counts()
    }
    fn claim_candidates(&mut self, now: Timestamp, limit: usize) -> Result<Vec<Task>> {
        self.inner.claim_candidates(now, limit)
    }
    fn claim_next(&mut self, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
        self.inner.claim_next(spec)
    }
    fn task_settle(&mut self, s: &Settle<'_>) -> Result<bool> {
        let reason = s.end.as_ref().and_then(|e| e.reason).map(|r| self.mask.text(r));
        let report = s.end.as_ref().and_then(|e| e.report).map(|r| self.mask.text(r));
        let end = s.end.as_ref().map(|e| RunEnd { reason: reason.as_deref(), report: report.as_deref(), ..e.clone() });
        let why = s.verdict.map(|(_, r)| self.mask.text(r));
        let verdict = s.verdict.zip(why.as_deref()).map(|((v, _), r)| (v, r));
        let events: Vec<Event> = s.events.iter().map(|e| self.mask.event(e).unwrap_or_else(|| e.clone())).collect();
        let task = self.mask.task(s.task);
        self.inner.task_settle(&Settle {
            task: task.as_ref().unwrap_or(s.task),
            end,
            verdict,
            events: &events,
            ..s.clone()
        })
    }
    fn lock_counted_claims(&mut self) -> Result<()> {
        self.inner.lock_counted_claims()
    }
    fn expired_leases(&mut self, now: Timestamp) -> Result<Vec<Task>> {
        self.inner.expired_leases(now)
    }
    fn idempotency_owner(&mut self, key: &str) -> Result<Option<String>> {
        self.inner.idempotency_owner(key)
    }
    fn idempotency_claim(&mut self, key: &str, task_id: &str) -> Result<bool> {
        self.inner.idempotency_claim(key, task_id)
    }
    fn run_insert(&mut self, run: &Run) -> Result<()> {
        self.inner.run_insert(run)
    }
    fn run_end(&mut self, run_id: &str, end: &RunEnd<'_>) -> Result<()> {
        let reason = end.reason.map(|r| self.mask.text(r));
        let report = end.report.map(|r| self.mask.text(r));
        self.inner.run_end(run_id, &RunEnd { reason: reason.as_deref(), report: report.as_deref(), ..end.clone() })
    }
    fn run_get(&mut self, run_id: &str) -> Result<Option<Run>> {
        self.inner.run_get(run_id)
    }
    fn run_by_token(&mut self, token: &str) -> Result<Option<Run>> {
        self.inner.run_by_token(token)
    }
    fn task_and_holder(&mut self, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>> {
        self.inner.task_and_holder(id, token)
    }
    fn run_late_report(&mut self, run_id: &str, report: &str) -> Result<()> {
        self.inner.run_late_report(run_id, &self.mask.text(report))
    }
    fn run_set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()> {
        self.inner.run_set_process(run_id, p)
    }
    fn runs_live_on(&mut self, host: &str) -> Result<Vec<Run>> {
        self.inner.runs_live_on(host)
    }
    fn run_add_usage(&mut self, run_id: &str, usage: &Usage) -> Result<()> {
        self.inner.run_add_usage(run_id, usage)
    }
    fn cost_since(&mut self, since: Timestamp) -> Result<f64> {
        self.inner.cost_since(since)
    }
    fn run_set_session(&mut self, run_id: &str, session: &str) -> Result<()> {
        self.inner.run_set_session(run_id, session)
    }
    fn run_set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        self.inner.run_set_verdict(run_id, verdict, &self.mask.text(reason))
    }
    fn runs_of(&mut self, task_id: &str) -> Result<Vec<Run>> {
        self.inner.runs_of(task_id)
    }
    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<Event>> {
        self.inner.events_after(seq, limit)
    }
    fn events_query(&mut self, q: &EventQuery) -> Result<Vec<Event>> {
        self.inner.events_query(q)
    }
    fn events_of_tasks_run_since(&mut self, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>> {
        self.inner.events_of_tasks_run_since(since, kinds)
    }
    fn runs_since(&mut self, since: Timestamp) -> Result<Vec<Run>> {
        self.inner.runs_since(since)
    }
    fn prune_before(&mut self, cutoff: Timestamp) -> Result<Pruned> {
        self.inner.prune_before(cutoff)
    }
    fn schedules(&mut self) -> Result<Vec<Schedule>> {
        self.inner.schedules()
    }
    fn schedule_get(&mut self, name: &str) -> Result<Option<Schedule>> {
        self.inner.schedule_get(name)
    }
    fn schedule_insert(&mut self, s: &Schedule) -> Result<()> {
        self.inner.schedule_insert(s)
    }
    fn schedule_update(&mut self, s: &Schedule) -> Result<Schedule> {
        self.inner.schedule_update(s)
    }
    fn schedule_delete(&mut self, name: &str) -> Result<bool> {
        self.inner.schedule_delete(name)
    }
    fn dispatcher_put(&mut self, d: &crate::DispatcherRecord) -> Result<()> {
        self.inner.dispatcher_put(d)
    }
    fn dispatchers(&mut self) -> Result<Vec<crate::DispatcherRecord>> {
        self.inner.dispatchers()
    }
    fn dispatchers_prune(&mut self, unseen_before: Timestamp) -> Result<u64> {
        self.inner.dispatchers_prune(unseen_before)
    }
    fn meta_get(&mut self, key: &str) -> Result<Option<String>> {
        self.inner.meta_get(key)
    }
    fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.inner.meta_set(key, value)
    }
    fn meta_all(&mut self) -> Result<Vec<(String, String)>> {
        self.inner.meta_all()
    }
    fn view_rows(&mut self, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>> {
        self.inner.view_rows(view, kept)
    }
    fn view_lines(&mut self, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
        self.inner.view_lines(view, kept)
    }
    fn view_versions(&mut self, kept: ViewKept) -> Result<Vec<(String, i64)>> {
        self.inner.view_versions(kept)
    }
    fn view_marks(&mut self, view: &str) -> Result<HashMap<String, ViewMark>> {
        self.inner.view_marks(view)
    }
    fn view_mark(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        self.inner.view_mark(view, task_id)
    }
    fn view_mark_set(&mut self, view: &str, task_id: &str, mark: &ViewMark) -> Result<()> {
        self.inner.view_mark_set(view, task_id, mark)
    }
    fn view_history(&mut self, view: &str, task_id: &str) -> Result<ViewHistory> {
        self.inner.view_history(view, task_id)
    }
    fn view_get(&mut self, view: &str) -> Result<Option<ViewInfo>> {
        self.inner.view_get(view)
    }
    fn view_set_hash(&mut self, view: &str, hash: &str) -> Result<()> {
        self.inner.view_set_hash(view, hash)
    }
    fn view_set_frame(&mut self, view: &str, frame: &str) -> Result<()> {
        self.inner.view_set_frame(view, frame)
    }
    fn views(&mut self) -> Result<Vec<(String, ViewInfo)>> {
        self.inner.views()
    }
    fn view_rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.inner.view_rename(from, to)
    }
}

#[cfg(test)]
mod tests {
    /// The names of the `fn`s declared at the top level of the first block opened after
    /// `header` in `src`.
    fn fns_in_block(src: &str, header: &str) -> Vec<String> {
        let start = src.find(header).unwrap_or_else(|| panic!("`{header}` not found"));
        let body = &src[start + src[start..].find('{').unwrap() + 1..];
        let (mut depth, mut names, mut line_start) = (0usize, Vec::new(), true);
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                _ => {}
            }
            if line_start && depth == 0 {
                let rest = body[i..].trim_start_matches([' ', '\t']);
                if let Some(sig) = rest.strip_prefix("fn ") {
                    names.push(sig.split(['(', '<']).next().unwrap().trim().to_string());
                }
            }
            line_start = c == '\n';
        }
        names
    }

    #[test]
    fn mask_tx_forwards_every_method_of_tx_those_with_a_default_too() {
        let declared = fns_in_block(include_str!("../lib.rs"), "pub trait Tx {");
        let forwarded = fns_in_block(include_str!("tx.rs"), "impl Tx for MaskTx<'_> {");
        assert!(declared.len() > 40 && declared.contains(&"view_lines".to_string()), "{declared:?}");
        let missing: Vec<&String> = declared.iter().filter(|m| !forwarded.contains(m)).collect();
        assert!(
            missing.is_empty(),
            "MaskTx does not forward {missing:?}: a default would run instead of the store's own"
        );
    }
}
