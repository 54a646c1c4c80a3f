//! The threads that wake the dispatcher's loop besides its own timers, the launcher
//! (a worker's start) and the runner's reaper (its exit): a watcher on a second
//! connection (another process's commit) and the signal listener (SIGINT, SIGTERM and
//! SIGHUP all mean: stop, giving the tasks back). What they send is in `msg`.

use super::msg::Msg;
use crate::error::{Error, Result};
use crate::ops::Orch;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// A second connection that blocks until another process commits, then wakes the loop.
pub fn spawn_watcher(orch: &Orch, tx: mpsc::Sender<Msg>, stop: Arc<AtomicBool>) -> Result<()> {
    let db = orch_store::open(orch.db_url())?;
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match db.wait_for_change(Duration::from_millis(250)) {
                Ok(true) => {
                    if tx.send(Msg::Changed).is_err() {
                        return;
                    }
                }
                Ok(false) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    });
    Ok(())
}

/// Turns SIGINT, SIGTERM and SIGHUP into messages (a second one changes nothing: the
/// shutdown is under way).
pub fn spawn_signal_listener(tx: mpsc::Sender<Msg>) -> Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::Io(format!("signals: {e}")))?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let name = match sig {
                SIGINT => "SIGINT",
                SIGHUP => "SIGHUP",
                _ => "SIGTERM",
            };
            if tx.send(Msg::Signal(name)).is_err() {
                return;
            }
        }
    });
    Ok(handle)
}
