//! What every request of `orch serve` shares: the open queue, the token, the browser
//! sessions, the channel the watch thread moves on each commit; and the one way a
//! handler calls the (blocking) API.

use super::adds::Adds;
use super::reply::Fail;
use super::sessions::Sessions;
use crate::api::Orch;
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// What every request shares.
pub struct Shared {
    pub orch: Arc<Orch>,
    pub token: String,
    pub sessions: Mutex<Sessions>,
    /// Moves when the store may have changed (the watch thread).
    pub changes: tokio::sync::watch::Receiver<u64>,
    /// The writer of adds in groups.
    pub adds: Adds,
    /// How long a request that is not a stream may take, its body read included.
    pub request_timeout: std::time::Duration,
}

pub type AppState = Arc<Shared>;

impl Shared {
    /// Runs one blocking call of the API on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Orch) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, Fail> {
        let orch = self.orch.clone();
        match tokio::task::spawn_blocking(move || f(&orch)).await {
            Ok(r) => r.map_err(Fail::Api),
            Err(e) => Err(Fail::Api(Error::Io(format!("request: {e}")))),
        }
    }
}
