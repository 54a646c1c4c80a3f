//! The leases an MCP session holds for its agent: each task `next` claimed gets a thread
//! that renews its lease (every third of the lease) until `done` or `fail` ends it, the
//! lease is lost, or the session ends — when every lease still held is given back (the
//! task back to PENDING, the attempt not counted).

use crate::api::{self, Orch};
use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One lease held: the run and its token, and the channel that stops its heartbeats.
struct Held {
    run_id: String,
    token: String,
    stop: Sender<()>,
}

/// Every lease the session holds, by task id.
#[derive(Clone, Default)]
pub struct Holds {
    held: Arc<Mutex<BTreeMap<String, Held>>>,
}

impl Holds {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Held>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Holds the lease of a task just claimed: heartbeats every `every` until released.
    pub fn hold(&self, queue: &Arc<Orch>, id: &str, run_id: &str, token: &str, every: Duration) {
        let (stop, stopped) = mpsc::channel();
        let held = Held { run_id: run_id.to_string(), token: token.to_string(), stop };
        if let Some(old) = self.lock().insert(id.to_string(), held) {
            let _ = old.stop.send(());
        }
        let (orch, id, token, holds) = (Arc::clone(queue), id.to_string(), token.to_string(), self.clone());
        std::thread::spawn(move || {
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let req =
                    api::HeartbeatRequest { id: id.clone(), lease: Some(token.clone()), force: false, extend: None };
                if api::heartbeat(&orch, req).is_err() {
                    // The lease is gone (finished elsewhere, expired and taken): stop holding it.
                    holds.forget_token(&id, &token);
                    return;
                }
            }
        });
    }

    /// The token of the lease held on `id`, if any.
    pub fn token(&self, id: &str) -> Option<String> {
        self.lock().get(id).map(|h| h.token.clone())
    }

    /// Stops holding `id` (after `done` or `fail`): no more heartbeats, nothing given back.
    pub fn forget(&self, id: &str) {
        if let Some(h) = self.lock().remove(id) {
            let _ = h.stop.send(());
        }
    }

    fn forget_token(&self, id: &str, token: &str) {
        let mut held = self.lock();
        if held.get(id).is_some_and(|h| h.token == token) {
            held.remove(id);
        }
    }

    /// The session ends: every lease still held is given back. Returns what was not.
    pub fn give_back_all(&self, orch: &Orch) -> Vec<String> {
        let held = std::mem::take(&mut *self.lock());
        let mut failed = Vec::new();
        for (id, h) in held {
            let _ = h.stop.send(());
            let req = api::GiveBackRequest { id: id.clone(), run_id: h.run_id, lease: h.token };
            if let Err(e) = api::give_back(orch, req) {
                failed.push(format!("{id}: {e}"));
            }
        }
        failed
    }
}
