//! Firing hooks once a change is committed (which change fires which hook, and running
//! one, is `crate::hooks`). Every operation's change goes through `Orch::change`, which
//! hands what its transaction recorded here after the commit: a command line runs each
//! hook at once and waits for it (at most `hooks.timeout`: a `done` never hangs longer);
//! a dispatcher hands them to a thread of its own ([`Orch::run_hooks`]) so its loop never
//! waits. A hook that fails or times out is an event (`hook.failed`, `hook.timeout`)
//! and a warning; it never changes the task nor stops anything.

use super::Orch;
use crate::error::Result;
use crate::hooks::{self, Fired, Ran};
use orch_core::event::{Event, Level, kind};
use std::sync::mpsc;

impl Orch {
    /// Runs (or hands to the dispatcher's hook thread) the hooks of committed changes;
    /// warnings for the hooks that failed here.
    pub(super) fn fire(&self, fired: Vec<Fired>) -> Vec<String> {
        let hooks = &self.config().hooks;
        let mut warnings = Vec::new();
        for f in fired.into_iter().filter(|f| !f.kind.argv(hooks).1.is_empty()) {
            let queue = self.hook_queue.lock().unwrap_or_else(|p| p.into_inner());
            match queue.as_ref() {
                Some(q) => {
                    let _ = q.send(f);
                }
                None => {
                    drop(queue);
                    warnings.extend(self.run_hook(&f));
                }
            }
        }
        warnings
    }

    /// Fires `on_idle` (the dispatcher found nothing to do after having had work).
    pub fn fire_idle(&self) {
        for w in self.fire(vec![Fired::idle()]) {
            crate::console::eprint(&format!("orch: warning: {w}"));
        }
    }

    /// From now on hooks go to `queue` (a dispatcher's hook thread, see
    /// [`Orch::run_hooks`]) instead of running at once; `None` runs them at once again
    /// (and, dropping the sender, lets that thread finish what it has and end).
    pub fn set_hook_queue(&self, queue: Option<mpsc::Sender<Fired>>) {
        *self.hook_queue.lock().unwrap_or_else(|p| p.into_inner()) = queue;
    }

    /// A dispatcher's hook thread: runs the hooks that come, one at a time and in order,
    /// until the queue is closed and empty.
    pub fn run_hooks(&self, queue: mpsc::Receiver<Fired>) {
        for f in queue {
            if let Some(w) = self.run_hook(&f) {
                crate::console::eprint(&format!("orch: warning: {w}"));
            }
        }
    }

    /// Runs one hook; a failure is logged as an event and said as a warning.
    fn run_hook(&self, f: &Fired) -> Option<String> {
        let (key, argv) = f.kind.argv(&self.config().hooks);
        let reason = self.mask().text(&f.reason).into_owned();
        let db = (self.db_url() != self.home().db_path().display().to_string()).then(|| self.db_url());
        let program = argv.first().map(String::as_str).unwrap_or("");
        let (event, level, what) = match hooks::run(f, key, argv, &reason, self.config(), self.home(), db) {
            Ran::Ok => return None,
            Ran::Failed(why) => (kind::HOOK_FAILED, Level::Warn, why),
            Ran::TimedOut => {
                let after = orch_core::time::format_duration(self.config().hooks.timeout);
                (kind::HOOK_TIMEOUT, Level::Warn, format!("still running after {after} (hooks.timeout): killed"))
            }
        };
        let msg = format!("{key} ({program}): {what}");
        let task_id = f.task.as_ref().map(|t| t.id.clone());
        let logged = self.hook_event(event, level, task_id.clone(), &msg);
        let on = task_id.map(|id| format!(" for {id}")).unwrap_or_default();
        let mut warning = format!("hook {msg}{on}");
        if let Err(e) = logged {
            warning.push_str(&format!(" (not logged: {e})"));
        }
        Some(warning)
    }

    fn hook_event(&self, event: &str, level: Level, task_id: Option<String>, msg: &str) -> Result<()> {
        let mut e = Event::new(self.now(), event);
        e.level = level;
        e.task_id = task_id;
        e.msg = Some(msg.to_string());
        self.log_change(|tx| tx.event_insert(&e).map(|_| ()))
    }
}
