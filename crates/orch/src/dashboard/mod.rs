//! `orch dashboard`: a full-screen terminal view of the queue, a front end like the
//! command line: everything it reads and changes goes through `crate::api`
//! (`layout.rs` holds it to that). docs/DASHBOARD.md says what it shows and its keys.
//!
//! Layout: `app.rs` the state and what is read, `fleet.rs` the fleet and queue panels,
//! `tasks.rs` the task list and pane, `draw.rs` the whole frame, `keys.rs` the keys and
//! the operator's changes, `terminal.rs` taking and giving back the terminal, `text.rs`
//! escaping and fitting text, `theme.rs` colours (none with `NO_COLOR`); this file the
//! event loop.
//!
//! The loop sleeps until something happens: a key (a thread reading the terminal), a
//! commit by any process (a thread on `api::watch`, the dispatcher's own wake-up), or,
//! only while something on screen moves with the clock (a lease held, a running task
//! selected), a one-second tick that redraws elapsed times and reads the live output.
//! The queue is read again at least every minute, every 5 s while a dispatcher is alive.
//! SIGTERM, SIGHUP and SIGINT end it as `q` does, the terminal given back.

mod app;
mod draw;
mod fleet;
mod keys;
mod tasks;
mod terminal;
#[cfg(test)]
mod tests;
mod text;
mod theme;

use crate::api::{self, Orch};
use crate::error::{Error, Result};
use app::App;
use keys::After;
use ratatui::crossterm::event::{self, Event};
use std::io::{IsTerminal, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use theme::Theme;

#[derive(clap::Args, Debug)]
pub struct DashboardArgs {}

/// What wakes the loop.
enum Wake {
    Key(event::KeyEvent),
    Resized,
    Changed,
    /// SIGTERM, SIGHUP or SIGINT: end as `q` does, giving the terminal back.
    Signal,
}

/// The tick while something on screen moves with the clock.
const TICK: Duration = Duration::from_secs(1);
/// Without one, the queue is still read this often (the KPI window moves).
const SLOW: Duration = Duration::from_secs(60);
/// While a dispatcher is alive, the queue is read at least this often: a dispatcher
/// says it runs every 5 s (DISPATCHER.md, "Liveness").
const DISPATCHING: Duration = Duration::from_secs(5);

pub fn run(orch: &Orch, _args: &DashboardArgs) -> Result<i32> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Usage("orch dashboard needs a terminal (stdin and stdout)".into()));
    }
    let theme = Theme::from_env();
    let watch = api::watch(orch)?;
    let (tx, rx) = mpsc::channel();
    let changes = tx.clone();
    std::thread::spawn(move || {
        loop {
            match watch.wait(Duration::from_secs(1)) {
                Ok(true) => {
                    if changes.send(Wake::Changed).is_err() {
                        return;
                    }
                }
                Ok(false) => {}
                Err(_) => std::thread::sleep(Duration::from_secs(1)),
            }
        }
    });
    let keys = tx.clone();
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            let wake = match ev {
                Event::Key(k) => Wake::Key(k),
                Event::Resize(..) => Wake::Resized,
                _ => continue,
            };
            if keys.send(wake).is_err() {
                return;
            }
        }
    });
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ]);
    let mut signals = signals.map_err(|e| Error::Io(format!("signals: {e}")))?;
    let stop = tx.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = stop.send(Wake::Signal);
        }
    });
    let mut app = App::new(app::Snapshot::empty());
    app.refresh(orch);
    let mut screen = terminal::Screen::enter()?;
    let mut timings = Timings::from_env();
    let mut last_read = Instant::now();
    loop {
        let started = Instant::now();
        let age = app.read_at.elapsed().as_secs_f64();
        screen.term.draw(|f| draw::draw(f, &mut app, theme, age)).map_err(|e| Error::Io(format!("terminal: {e}")))?;
        timings.frame(started.elapsed());
        let every = if app.dispatching() { DISPATCHING } else { SLOW };
        let due = every.saturating_sub(last_read.elapsed());
        let wait = if app.ticking() { TICK.min(due) } else { due };
        let mut refresh = false;
        let mut first = match rx.recv_timeout(wait) {
            Ok(w) => Some(w),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if last_read.elapsed() >= every {
                    refresh = true;
                } else if app.ticking() {
                    app.refresh_tail(orch);
                }
                None
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Error::Io("terminal input closed".into())),
        };
        // Everything already waiting is taken at once: a burst of commits is one read.
        while let Some(w) = first.take().or_else(|| rx.try_recv().ok()) {
            match w {
                Wake::Changed => refresh = true,
                Wake::Resized => {}
                Wake::Signal => return Ok(0),
                Wake::Key(k) => match keys::on_key(&mut app, orch, k) {
                    After::Quit => return Ok(0),
                    After::Refresh => refresh = true,
                    After::Draw => {}
                },
            }
        }
        if refresh {
            let started = Instant::now();
            app.refresh(orch);
            last_read = Instant::now();
            timings.read(started.elapsed());
        }
    }
}

/// With `ORCH_DASHBOARD_TIMINGS=FILE`, each frame's draw time and each read's time are
/// appended to FILE (`draw_us N`, `read_us N`), for the benchmark (benches/dashboard.sh).
struct Timings {
    file: Option<std::fs::File>,
}

impl Timings {
    fn from_env() -> Timings {
        let path = std::env::var_os("ORCH_DASHBOARD_TIMINGS").filter(|p| !p.is_empty());
        let file = path.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
        Timings { file }
    }

    fn frame(&mut self, d: Duration) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "draw_us {}", d.as_micros());
        }
    }

    fn read(&mut self, d: Duration) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "read_us {}", d.as_micros());
        }
    }
}
