//! Opening the server: the address (loopback unless `--allow-remote`), the token
//! (strong enough for the address), the runtime, the listener, the lines printed (the
//! address and a one-time sign-in link, never the token), and the thread that watches
//! the store for commits.

use super::adds::Adds;
use super::pages::Pages;
use super::sessions::Sessions;
use super::state::{READS_AT_ONCE, Shared};
use super::{routes, token};
use crate::api::{self, Orch};
use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:7700", value_name = "IP:PORT")]
    pub addr: String,
    /// Listen on an address that is not loopback (needs a token of 32 random bytes).
    #[arg(long)]
    pub allow_remote: bool,
    /// Seconds a request may take, its body read included (the event stream excepted):
    /// a slower one is answered 408. A connection whose request head has not arrived
    /// within it is closed.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
}

/// The address to listen on: loopback, or any with `--allow-remote`.
fn address(args: &ServeArgs) -> Result<SocketAddr> {
    let addr: SocketAddr = args
        .addr
        .trim()
        .parse()
        .map_err(|e| Error::Usage(format!("--addr `{}`: {e} (IP:PORT, e.g. 127.0.0.1:7700)", args.addr)))?;
    if !addr.ip().is_loopback() && !args.allow_remote {
        return Err(Error::Usage(format!(
            "--addr {addr} is not a loopback address: give --allow-remote to serve beyond this machine \
             (then only with a token of 32 random bytes; docs/SERVE.md)"
        )));
    }
    Ok(addr)
}

pub fn run(orch: Orch, args: &ServeArgs) -> Result<i32> {
    let addr = address(args)?;
    let (token, source) = token::load(api::home_dir(&orch), std::env::var(token::TOKEN_ENV).ok())?;
    if !addr.ip().is_loopback() {
        token::check_remote(&token)?;
    }
    let orch = Arc::new(orch);
    let changes = watch_changes(&orch)?;
    let pages = Pages::open(&orch)?;
    let mut sessions = Sessions::default();
    let code = sessions.new_code()?;
    // Reads take turns (four at once) and adds are written in groups, so calls waiting
    // on the store are few; 64 threads at most keep a burst of changes from growing the
    // server's memory (tokio's default is 512).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .map_err(|e| Error::Io(format!("the server's runtime: {e}")))?;
    let request_timeout = std::time::Duration::from_secs(args.request_timeout);
    rt.block_on(async move {
        let adds = Adds::start(Arc::clone(&orch));
        let reads = tokio::sync::Semaphore::new(READS_AT_ONCE);
        let shared = Arc::new(Shared {
            orch,
            token,
            sessions: Mutex::new(sessions),
            changes,
            adds,
            pages,
            reads,
            request_timeout,
        });
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|e| Error::Usage(format!("--addr {addr}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| Error::Io(format!("{addr}: {e}")))?;
        let home = api::home_dir(&shared.orch).display().to_string();
        let from = match source {
            token::Source::Env => format!("the token is {}", token::TOKEN_ENV),
            token::Source::File => format!("the token is in {home}/{}", token::TOKEN_FILE),
            token::Source::Made => format!("a new token was written to {home}/{}", token::TOKEN_FILE),
        };
        crate::console::print(&format!("orch serve: listening on http://{bound} ({from})"));
        crate::console::print(&format!("orch serve: sign in once with http://{bound}/#code={code}"));
        let app = routes::router(shared);
        super::listen::serve(listener, app, request_timeout).await;
        Ok::<(), Error>(())
    })?;
    Ok(0)
}

/// How often the watch looks for a commit on a store without notifications (SQLite):
/// an event stream shows a commit within this, and each look costs microseconds.
const LOOK: std::time::Duration = std::time::Duration::from_millis(10);

/// A thread on `api::watch` that moves the channel's number on every commit seen.
fn watch_changes(orch: &Orch) -> Result<tokio::sync::watch::Receiver<u64>> {
    let watch = api::watch(orch)?.every(LOOK);
    let (tx, rx) = tokio::sync::watch::channel(0u64);
    std::thread::Builder::new()
        .name("serve-watch".into())
        .spawn(move || {
            loop {
                match watch.wait(std::time::Duration::from_secs(1)) {
                    Ok(true) => tx.send_modify(|n| *n += 1),
                    Ok(false) => {}
                    // A store that fails for a while: the streams look again later.
                    Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
                }
            }
        })
        .map_err(|e| Error::Io(format!("the watch thread: {e}")))?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(addr: &str, allow_remote: bool) -> ServeArgs {
        ServeArgs { addr: addr.into(), allow_remote, request_timeout: 30 }
    }

    #[test]
    fn only_loopback_without_allow_remote() {
        assert!(address(&args("127.0.0.1:0", false)).is_ok());
        assert!(address(&args("[::1]:7700", false)).is_ok());
        let e = address(&args("0.0.0.0:7700", false)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(address(&args("0.0.0.0:7700", true)).is_ok());
        assert_eq!(address(&args("localhost", false)).unwrap_err().exit_code(), 2);
    }
}
